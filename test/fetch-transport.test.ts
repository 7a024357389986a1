import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFetchTransport } from '../src/transport/fetch';
import { createKeepaliveBudget, HOMING_KEEPALIVE_BYTES, type KeepaliveBudget } from '../src/transport/keepalive-budget';
import type { SendRequest } from '../src/transport/transport';
import { elapse, useFakeTime } from './support/time';

const ENDPOINT = 'https://collector.example/v1/batch';
const NOW = Date.UTC(2030, 0, 1);

const request = (bytes = 100, keepalive = false): SendRequest => ({ body: 'x'.repeat(bytes), bytes, keepalive });

/** A fetch that answers every request with `status` and `headers`. */
function answering(status: number, headers: Record<string, string> = {}) {
  return vi.fn<typeof globalThis.fetch>(async () => new Response(null, { status, headers }));
}

/** A fetch that never answers, and rejects only when its request is aborted. */
function hangingUntilAborted() {
  return vi.fn<typeof globalThis.fetch>(
    (_input, init) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      }),
  );
}

function transportWith(fetch: typeof globalThis.fetch, budget: KeepaliveBudget = createKeepaliveBudget(), timeoutMs = 10_000, headers: Record<string, string> = {}) {
  return createFetchTransport({ url: ENDPOINT, fetch, headers, budget, timeoutMs, now: () => NOW });
}

const initOf = (fetch: ReturnType<typeof answering>) => fetch.mock.calls[0]![1]!;

afterEach(() => {
  vi.useRealTimers();
});

describe('the request', () => {
  it('POSTs the body to the endpoint as application/json, without cookies', async () => {
    const fetch = answering(200);

    await transportWith(fetch).send({ body: '{"batch":[]}', bytes: 12, keepalive: false });

    expect(fetch).toHaveBeenCalledOnce();
    expect(fetch.mock.calls[0]![0]).toBe(ENDPOINT);
    const init = initOf(fetch);
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"batch":[]}');
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json');
    expect(init.credentials).toBe('omit');
  });

  it("sends the engine's headers besides Content-Type", async () => {
    const fetch = answering(200);

    await transportWith(fetch, createKeepaliveBudget(), 10_000, { Authorization: 'Basic d2s6' }).send(request());

    const headers = new Headers(initOf(fetch).headers);
    expect(headers.get('Authorization')).toBe('Basic d2s6');
    expect(headers.get('Content-Type')).toBe('application/json');
  });

  it('sends the body as given, uncompressed', async () => {
    const fetch = answering(200);
    const body = JSON.stringify({ batch: [{ type: 'track', event: 'Signed Up' }] });

    await transportWith(fetch).send({ body, bytes: body.length, keepalive: false });

    expect(initOf(fetch).body).toBe(body);
    expect(new Headers(initOf(fetch).headers).get('Content-Encoding')).toBeNull();
  });

  it('does not ask for keepalive unless told to', async () => {
    const fetch = answering(200);

    await transportWith(fetch).send(request(100, false));

    expect(initOf(fetch).keepalive).toBe(false);
  });

  it('asks for keepalive when told to', async () => {
    const fetch = answering(200);

    await transportWith(fetch).send(request(100, true));

    expect(initOf(fetch).keepalive).toBe(true);
  });
});

describe('what the answer means', () => {
  it.each([200, 204])('answers %i as delivered', async (status) => {
    expect(await transportWith(answering(status)).send(request())).toEqual({ kind: 'delivered', status });
  });

  it.each([400, 401, 403, 404, 410, 422])('answers %i as rejected', async (status) => {
    expect(await transportWith(answering(status)).send(request())).toEqual({ kind: 'rejected', status });
  });

  it('answers 413 as too large', async () => {
    expect(await transportWith(answering(413)).send(request())).toEqual({ kind: 'too-large', status: 413 });
  });

  it.each([408, 429, 500, 502, 503, 504])('answers %i as retry', async (status) => {
    expect(await transportWith(answering(status)).send(request())).toMatchObject({ kind: 'retry', status });
  });

  it('passes on Retry-After in seconds', async () => {
    const result = await transportWith(answering(429, { 'Retry-After': '30' })).send(request());

    expect(result).toEqual({ kind: 'retry', status: 429, retryAfterMs: 30_000 });
  });

  it('passes on Retry-After as an HTTP date, measured from now', async () => {
    const result = await transportWith(answering(503, { 'Retry-After': new Date(NOW + 90_000).toUTCString() })).send(request());

    expect(result).toEqual({ kind: 'retry', status: 503, retryAfterMs: 90_000 });
  });

  it('answers a network error as retry, keeping the error as its cause', async () => {
    const failure = new TypeError('Failed to fetch');
    const fetch = vi.fn<typeof globalThis.fetch>(async () => Promise.reject(failure));

    expect(await transportWith(fetch).send(request())).toEqual({ kind: 'retry', cause: failure });
  });

  it('aborts a request without an answer after the timeout, and answers retry', async () => {
    useFakeTime();
    const fetch = hangingUntilAborted();
    let result: unknown;
    void transportWith(fetch, createKeepaliveBudget(), 100).send(request()).then((r) => (result = r));

    await elapse(99);
    expect(result).toBeUndefined();
    await elapse(1);

    expect(result).toMatchObject({ kind: 'retry', cause: expect.objectContaining({ name: 'AbortError' }) });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the keepalive budget', () => {
  it('holds the bytes of a keepalive request while it is under way, and frees them after', async () => {
    const budget = createKeepaliveBudget();
    let availableDuringRequest = 0;
    const fetch = vi.fn<typeof globalThis.fetch>(async () => {
      availableDuringRequest = budget.available;
      return new Response(null, { status: 200 });
    });

    await transportWith(fetch, budget).send(request(10_000, true));

    expect(availableDuringRequest).toBe(HOMING_KEEPALIVE_BYTES - 10_000);
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('frees the bytes when a keepalive request fails', async () => {
    const budget = createKeepaliveBudget();

    await transportWith(vi.fn<typeof globalThis.fetch>(async () => Promise.reject(new TypeError('offline'))), budget).send(request(10_000, true));

    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it('takes a keepalive request of exactly the budget', async () => {
    const fetch = answering(200);

    expect(await transportWith(fetch).send(request(HOMING_KEEPALIVE_BYTES, true))).toEqual({ kind: 'delivered', status: 200 });
  });

  it('leaves the budget alone for a request that need not outlive the page', async () => {
    const budget = createKeepaliveBudget();
    let availableDuringRequest = 0;
    const fetch = vi.fn<typeof globalThis.fetch>(async () => {
      availableDuringRequest = budget.available;
      return new Response(null, { status: 200 });
    });

    await transportWith(fetch, budget).send(request(100_000, false));

    expect(fetch).toHaveBeenCalledOnce();
    expect(availableDuringRequest).toBe(HOMING_KEEPALIVE_BYTES);
  });

  it("answers unsent, without fetching, when the keepalive request does not fit homing's 24 KiB of the budget", async () => {
    const fetch = answering(200);

    const result = await transportWith(fetch).send(request(HOMING_KEEPALIVE_BYTES + 1, true));

    expect(result).toEqual({ kind: 'unsent', cause: 'keepalive budget' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shares the budget between requests under way: the one that would overflow it is unsent', async () => {
    const budget = createKeepaliveBudget();
    const first = hangingUntilAborted();
    const second = answering(200);

    void transportWith(first, budget).send(request(20_000, true));
    const result = await transportWith(second, budget).send(request(10_000, true));

    expect(result).toEqual({ kind: 'unsent', cause: 'keepalive budget' });
    expect(second).not.toHaveBeenCalled();
    expect(budget.available).toBe(HOMING_KEEPALIVE_BYTES - 20_000);
  });
});
