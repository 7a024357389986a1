/** dist/homing-vitals.iife.js: `<script src="homing-vitals.iife.js">`. */
import { vitals } from '../vitals';
import { withTracker } from './with-tracker';

withTracker((tracker) => vitals(tracker));
