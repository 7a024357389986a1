import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compressedTransport } from '../src/extras/compress';

const ENDPOINT = 'https://collector.example/v1/batch';
const body = JSON.stringify({ batch: Array.from({ length: 50 }, (_, i) => ({ type: 'track', event: 'Signed Up', i })) });

/** A fetch that records what it was given and answers `status`. */
function recordingFetch(status = 200) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch = async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response(null, { status });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

const headersOf = (init: RequestInit) => new Headers(init.headers);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the compressed transport (homing/compress)', () => {
  it('gzips the body of a request with Content-Encoding: gzip', async () => {
    const { fetch, calls } = recordingFetch();

    const result = await compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: false });

    expect(result).toEqual({ kind: 'delivered', status: 200 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe(ENDPOINT);
    expect(headersOf(calls[0]!.init).get('Content-Encoding')).toBe('gzip');
    expect(headersOf(calls[0]!.init).get('Content-Type')).toBe('application/json');
    const sent = new Uint8Array(calls[0]!.init.body as ArrayBuffer);
    expect(sent.length).toBeLessThan(body.length / 4);
    expect(gunzipSync(sent).toString('utf8')).toBe(body);
  });

  it('gzips a keepalive request of a live page too', async () => {
    const { fetch, calls } = recordingFetch();

    await compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: true });

    expect(calls[0]!.init.keepalive).toBe(true);
    expect(headersOf(calls[0]!.init).get('Content-Encoding')).toBe('gzip');
  });

  it('sends a request at page exit uncompressed and at once, by keepalive fetch where there is no sendBeacon', async () => {
    vi.stubGlobal('navigator', {});
    const { fetch, calls } = recordingFetch();

    const sending = compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: true, exit: true });

    expect(calls).toHaveLength(1);
    expect(calls[0]!.init.body).toBe(body);
    expect(calls[0]!.init.keepalive).toBe(true);
    expect(headersOf(calls[0]!.init).get('Content-Encoding')).toBeNull();
    expect(await sending).toEqual({ kind: 'handed-off' });
  });

  it('sends a request at page exit uncompressed by sendBeacon where there is one', async () => {
    const beacons: Array<[string, unknown]> = [];
    vi.stubGlobal('navigator', { sendBeacon: (url: string, data: unknown) => (beacons.push([url, data]), true) });
    const { fetch, calls } = recordingFetch();

    const result = await compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: true, exit: true });

    expect(result).toEqual({ kind: 'handed-off' });
    expect(beacons).toEqual([[ENDPOINT, body]]);
    expect(calls).toEqual([]);
  });

  it('sends plain JSON where the runtime has no CompressionStream', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    const { fetch, calls } = recordingFetch();

    await compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: false });

    expect(calls[0]!.init.body).toBe(body);
    expect(headersOf(calls[0]!.init).get('Content-Encoding')).toBeNull();
  });

  it('answers what the collector answered, as the fetch transport does', async () => {
    const { fetch } = recordingFetch(503);

    expect(await compressedTransport({ endpoint: ENDPOINT, fetch }).send({ body, bytes: body.length, keepalive: false })).toMatchObject({ kind: 'retry', status: 503 });
  });
});
