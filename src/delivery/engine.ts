/**
 * How each collector engine wants the writeKey, as its documentation says:
 * - segment: `writeKey` in the body (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#authentication);
 * - rudderstack: HTTP Basic auth with the key as user name; beacons, which carry no headers, go
 *   to `/beacon/v1/batch?writeKey=` (https://www.rudderstack.com/docs/api/http-api/#authentication);
 * - jitsu: `writeKey` in the body (https://docs.jitsu.com/sending-data/http).
 */
export type Engine = 'segment' | 'rudderstack' | 'jitsu';

export interface EngineRequests {
  /** Where fetch sends, with which extra headers. */
  url: string;
  headers: Record<string, string>;
  /** Where sendBeacon and fetchLater send: no headers there. */
  beaconUrl: string;
  /** Whether the body carries `writeKey`. */
  keyInBody: boolean;
}

export function engineRequests(engine: Engine, endpoint: string, writeKey: string): EngineRequests {
  const inBody = { url: endpoint, headers: {}, beaconUrl: endpoint, keyInBody: !!writeKey };
  if (engine !== 'rudderstack' || !writeKey) return inBody;
  try {
    const beacon = new URL(endpoint, globalThis.location?.href);
    beacon.pathname = `/beacon${beacon.pathname}`;
    beacon.searchParams.set('writeKey', writeKey);
    return { url: endpoint, headers: { Authorization: `Basic ${btoa(`${writeKey}:`)}` }, beaconUrl: beacon.href, keyInBody: false };
  } catch {
    // A relative endpoint with no page to resolve it against (Node): the body carries the key.
    return inBody;
  }
}
