/**
 * How a script-tag extra reaches the page's tracker: through the `homing` global, whose
 * `homing(fn)` calls `fn(tracker)` once the tracker exists. When this file runs before
 * homing.iife.js, it creates the same queueing stub as the snippet; the bundle replays it.
 * (After the snippet, the global is already there: put extras' script tags below it.)
 */
import type { Tracker } from '../../index';

type Start = (tracker: Tracker) => void;
interface HomingGlobal {
  (start: Start): unknown;
  q?: unknown[];
}

/** Hands `start` to the page's tracker, now or as soon as `homing('init', …)` creates it. */
export function withTracker(start: Start): void {
  const scope = globalThis as unknown as { homing?: HomingGlobal };
  // The snippet's stub, word for word: it records each call as it came.
  const stub = function () {
    (stub.q = stub.q || []).push(arguments);
  } as HomingGlobal;
  const homing = (scope.homing ||= stub);
  homing(start);
}

/** The `data-` attributes of the script tag running this file, read while it runs. */
export function scriptDataset(): DOMStringMap {
  const script = globalThis.document?.currentScript as HTMLScriptElement | null | undefined;
  return script?.dataset ?? {};
}

/** `data-extensions="pdf, zip"` becomes ['pdf', 'zip']; absent or empty, undefined. */
export function listAttribute(value: string | undefined): string[] | undefined {
  const items = value?.split(',').map((item) => item.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

/** A boolean `data-` attribute: present and not "false". */
export function isOn(value: string | undefined): boolean {
  return value !== undefined && value !== 'false';
}
