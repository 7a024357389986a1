/** dist/homing-declarative.iife.js: `<script src="homing-declarative.iife.js">`. */
import { declarativeEvents } from '../declarative';
import { withTracker } from './with-tracker';

withTracker((tracker) => declarativeEvents(tracker));
