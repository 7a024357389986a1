/**
 * Sampling by user, not by event: whether an anonymous id is in the sample is a pure function
 * of the id, so a sampled user's journey stays whole across pages, tabs and visits.
 */
export function isSampledIn(anonymousId: string, sampleRate: number): boolean {
  if (sampleRate >= 1) return true;
  if (sampleRate <= 0) return false;
  // FNV-1a: a fast, well-spread 32-bit hash; no cryptographic strength is needed here.
  let hash = 0x811c9dc5;
  for (let i = 0; i < anonymousId.length; i++) hash = Math.imul(hash ^ anonymousId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32 < sampleRate;
}
