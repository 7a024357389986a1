/** dist/homing-links.iife.js: `<script src="homing-links.iife.js" data-extensions="pdf,zip">`, `data-extensions` optional. */
import { links } from '../links';
import { listAttribute, scriptDataset, withTracker } from './with-tracker';

const dataset = scriptDataset();
withTracker((tracker) => links(tracker, { extensions: listAttribute(dataset.extensions) }));
