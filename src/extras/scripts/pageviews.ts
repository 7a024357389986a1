/** dist/homing-pageviews.iife.js: `<script src="homing-pageviews.iife.js" data-hash>`, `data-hash` optional. */
import { pageviews } from '../pageviews';
import { isOn, scriptDataset, withTracker } from './with-tracker';

const dataset = scriptDataset();
withTracker((tracker) => pageviews(tracker, { hash: isOn(dataset.hash) }));
