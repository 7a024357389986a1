/**
 * The combined `<script>` entry, dist/homing.all.iife.js: the core (./browser) and every extra,
 * each turned on by a `data-` attribute of this script tag:
 * `<script src="homing.all.iife.js" data-endpoint="/v1/batch" data-pageviews data-links data-declarative data-vitals>`.
 * `data-pageviews="hash"` counts hash changes too; `data-links="pdf,zip"` replaces the list of
 * download extensions. A value of "false" leaves an extra off.
 */
import './browser';
import { declarativeEvents } from './extras/declarative';
import { links } from './extras/links';
import { pageviews } from './extras/pageviews';
import { isOn, listAttribute, scriptDataset, withTracker } from './extras/scripts/with-tracker';
import { vitals } from './extras/vitals';

const dataset = scriptDataset();
if (isOn(dataset.pageviews)) withTracker((tracker) => pageviews(tracker, { hash: dataset.pageviews === 'hash' }));
if (isOn(dataset.links)) withTracker((tracker) => links(tracker, { extensions: listAttribute(dataset.links) }));
if (isOn(dataset.declarative)) withTracker((tracker) => declarativeEvents(tracker));
if (isOn(dataset.vitals)) withTracker((tracker) => vitals(tracker));
