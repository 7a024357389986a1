/**
 * fetchLater (Chromium's deferred fetch): a request the browser sends by itself when the page is
 * destroyed, even where no `pagehide` runs (a discarded or crashed tab). homing arms one with the
 * events waiting for their batch, once per burst. Feature-detected: where it is missing, nothing
 * changes. https://developer.mozilla.org/en-US/docs/Web/API/Window/fetchLater
 */
type FetchLater = (input: string, init: RequestInit) => { readonly activated: boolean };

export interface DeferredRequest {
  /** Replaces the armed request by one carrying `body`; false when the browser refused it. */
  arm(body: string): boolean;
  disarm(): void;
}

export function createDeferredRequest(url: string): DeferredRequest | undefined {
  const fetchLater = (globalThis as { fetchLater?: FetchLater }).fetchLater;
  if (typeof fetchLater !== 'function') return undefined;
  let controller: AbortController | undefined;
  const disarm = () => {
    controller?.abort();
    controller = undefined;
  };
  return {
    arm(body) {
      disarm();
      controller = new AbortController();
      try {
        // text/plain, as for a beacon: a simple request, no preflight.
        fetchLater(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, signal: controller.signal });
        return true;
      } catch {
        // Over the deferred-fetch quota, or an endpoint it refuses: page hide still hands off.
        controller = undefined;
        return false;
      }
    },
    disarm,
  };
}
