import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { uuidV4 } from '../src/capture/id';
import { engineRequests, type Engine } from '../src/delivery/engine';
import { createTracker, type Tracker } from '../src/tracker';

const ENDPOINT = 'https://collector.example/v1/batch';

/**
 * How each engine's documentation says the writeKey travels. Each row is checked against what
 * homing builds for that engine.
 */
const DOCUMENTED: Array<{ engine: Engine; docs: string; url: string; headers: Record<string, string>; beaconUrl: string; keyInBody: boolean }> = [
  {
    engine: 'segment',
    // "Authenticate with your Write Key ... you can also include it in the body of the request as writeKey."
    docs: 'https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#authentication',
    url: ENDPOINT,
    headers: {},
    beaconUrl: ENDPOINT,
    keyInBody: true,
  },
  {
    engine: 'rudderstack',
    // "Basic Authentication: the source write key as the username and an empty password";
    // sendBeacon carries no headers: `/beacon/v1/batch?writeKey=<WRITE_KEY>`.
    docs: 'https://www.rudderstack.com/docs/api/http-api/#authentication',
    url: ENDPOINT,
    headers: { Authorization: `Basic ${Buffer.from('wk_123:').toString('base64')}` },
    beaconUrl: 'https://collector.example/beacon/v1/batch?writeKey=wk_123',
    keyInBody: false,
  },
  {
    engine: 'jitsu',
    // Jitsu's Segment-compatible endpoint reads the write key from the body's `writeKey`.
    docs: 'https://docs.jitsu.com/sending-data/http',
    url: ENDPOINT,
    headers: {},
    beaconUrl: ENDPOINT,
    keyInBody: true,
  },
];

describe('the requests each engine gets, as its documentation says', () => {
  it.each(DOCUMENTED)('$engine ($docs)', ({ engine, url, headers, beaconUrl, keyInBody }) => {
    expect(engineRequests(engine, ENDPOINT, 'wk_123')).toEqual({ url, headers, beaconUrl, keyInBody });
  });

  it.each(DOCUMENTED.map(({ engine }) => engine))('%s without a writeKey: the endpoint as given, nothing added', (engine) => {
    expect(engineRequests(engine, ENDPOINT, '')).toEqual({ url: ENDPOINT, headers: {}, beaconUrl: ENDPOINT, keyInBody: false });
  });

  it('encodes a rudderstack writeKey in the beacon query', () => {
    const { beaconUrl } = engineRequests('rudderstack', ENDPOINT, 'a&b=c d');

    expect(new URL(beaconUrl).searchParams.get('writeKey')).toBe('a&b=c d');
  });

  it('keeps the query an endpoint already has in the rudderstack beacon URL', () => {
    const { beaconUrl } = engineRequests('rudderstack', `${ENDPOINT}?source=web`, 'wk');

    expect(beaconUrl).toBe('https://collector.example/beacon/v1/batch?source=web&writeKey=wk');
  });
});

describe('the messageIds homing makes', () => {
  /** Jitsu keeps a messageId of at most 64 characters of these as it is, and rewrites any other. */
  const JITSU_SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;
  /** The schema (schema.ts) accepts at most 100 characters. */
  const SCHEMA_MAX_LENGTH = 100;

  it('are at most 64 characters of [A-Za-z0-9._-], which Jitsu keeps as they are, and within the schema’s 100', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = uuidV4(() => Uint8Array.from(bytes));
        expect(id).toMatch(JITSU_SAFE_ID);
        expect(id.length).toBeLessThanOrEqual(SCHEMA_MAX_LENGTH);
      }),
    );
  });

  it('are so with the default random source too', () => {
    const ids = Array.from({ length: 1_000 }, () => uuidV4());

    expect(ids.filter((id) => !JITSU_SAFE_ID.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('a tracker speaking to each engine', () => {
  const trackers: Tracker[] = [];
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((tracker) => tracker.shutdown()));
  });

  /** A fetch that records each request's headers and parsed body, and answers 200. */
  function recordingFetch() {
    const requests: Array<{ url: string; headers: Headers; body: Record<string, unknown> }> = [];
    const fetch = async (url: RequestInfo | URL, init?: RequestInit) => {
      requests.push({ url: String(url), headers: new Headers(init?.headers), body: JSON.parse(String(init?.body)) });
      return new Response(null, { status: 200 });
    };
    return { fetch: fetch as typeof globalThis.fetch, requests };
  }

  const trackOne = async (engine: Engine) => {
    const { fetch, requests } = recordingFetch();
    const tracker = createTracker({ endpoint: ENDPOINT, engine, writeKey: 'wk', fetch, store: 'memory', transport: 'fetch' });
    trackers.push(tracker);
    tracker.track('Signed Up');
    await tracker.flush();
    expect(requests).toHaveLength(1);
    return requests[0]!;
  };

  it('sends rudderstack the writeKey by Basic auth (Authorization: Basic d2s6), and not in the body', async () => {
    const request = await trackOne('rudderstack');

    expect(request.url).toBe(ENDPOINT);
    expect(request.headers.get('Authorization')).toBe('Basic d2s6');
    expect(request.body).not.toHaveProperty('writeKey');
    expect(request.body.batch).toHaveLength(1);
  });

  it.each<Engine>(['segment', 'jitsu'])('sends %s the writeKey in the body, without an Authorization header', async (engine) => {
    const request = await trackOne(engine);

    expect(request.body.writeKey).toBe('wk');
    expect(request.headers.get('Authorization')).toBeNull();
  });
});

describe('an endpoint that cannot be resolved', () => {
  it('never throws from createTracker: a relative RudderStack endpoint in Node keeps the key in the body', async () => {
    expect(() => createTracker({ endpoint: '/v1/batch', engine: 'rudderstack', writeKey: 'wk', store: 'memory' }).shutdown()).not.toThrow();
    expect(engineRequests('rudderstack', '/v1/batch', 'wk')).toMatchObject({ keyInBody: true, beaconUrl: '/v1/batch' });
  });
});
