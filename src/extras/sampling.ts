/**
 * `homing/sampling`: keeps the events of a share of users only. Sampling is by user, not by
 * event: whether an anonymous id is in the sample is a pure function of the id, so a sampled
 * user's journey stays whole across pages, tabs and visits. Events left out count as `filtered`.
 * `createTracker({ endpoint, plugins: [sampling(0.1)] })`.
 */
import type { Plugin } from '../capture/plugins';

export function isSampledIn(anonymousId: string, sampleRate: number): boolean {
  if (sampleRate >= 1) return true;
  if (sampleRate <= 0) return false;
  // FNV-1a: a fast, well-spread 32-bit hash; no cryptographic strength is needed here.
  let hash = 0x811c9dc5;
  for (let i = 0; i < anonymousId.length; i++) hash = Math.imul(hash ^ anonymousId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32 < sampleRate;
}

/** `sampleRate` from 0 to 1: the share of anonymous users whose events are kept. */
export function sampling(sampleRate: number): Plugin {
  return { name: 'sampling', enrich: (event) => (isSampledIn(event.anonymousId, sampleRate) ? event : null) };
}
