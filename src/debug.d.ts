/**
 * True in the debug builds (dist/homing.debug.iife.js, the `development` ESM) and under vitest;
 * false in production, where the minifier removes every branch it guards: the sentences that
 * explain an error and the debug log.
 */
declare const __DEBUG__: boolean;
