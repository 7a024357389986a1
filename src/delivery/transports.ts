/**
 * Which transport does what, from the `transport` option and what the runtime has: one for
 * requests while the page lives, one for the page's exit, and the fetchLater kept armed for a
 * tab that dies without an exit.
 */
import type { Clock } from '../clock';
import type { TransportOption } from '../options';
import { createBeacon, createBeaconTransport, type ExitSend } from '../transport/beacon';
import { createDeferredRequest, type DeferredRequest } from '../transport/fetch-later';
import { createFetchTransport } from '../transport/fetch';
import type { KeepaliveBudget } from '../transport/keepalive-budget';
import type { Transport } from '../transport/transport';
import type { EngineRequests } from './engine';
import { startedIsHandedOff } from './hand-off';

export interface Transports {
  live: Transport;
  exit: ExitSend;
  deferred?: DeferredRequest;
}

const unsent: Transport = { send: async () => ({ kind: 'unsent', cause: 'neither fetch nor sendBeacon' }) };

export function chooseTransports(option: TransportOption, fetchOption: typeof fetch | undefined, engine: EngineRequests, budget: KeepaliveBudget, timeoutMs: number, clock: Clock): Transports {
  if (typeof option === 'object') return { live: option, exit: startedIsHandedOff(option) };
  const fetcher = fetchOption ?? (typeof globalThis.fetch === 'function' ? (...args: Parameters<typeof globalThis.fetch>) => globalThis.fetch(...args) : undefined);
  const viaFetch = fetcher && createFetchTransport({ url: engine.url, fetch: fetcher, headers: engine.headers, budget, timeoutMs, now: clock.now });
  const beacon = option === 'fetch' ? undefined : createBeacon(engine.beaconUrl, budget);
  const beaconTransport = beacon && createBeaconTransport(engine.beaconUrl, budget);
  const live = (option === 'beacon' && beaconTransport) || viaFetch || beaconTransport || unsent;
  const exit = beacon ?? (viaFetch ? startedIsHandedOff(viaFetch, budget) : () => false);
  return { live, exit, deferred: createDeferredRequest(engine.beaconUrl) };
}
