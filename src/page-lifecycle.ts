/**
 * The moments a tracker must act on, from the page (or the process) it runs in:
 * - hidden: `visibilitychange` to hidden, or `freeze`; the page may never run again, but it may
 *   also come back, so answers are still awaited.
 * - pagehide: the page is being unloaded or put in the back/forward cache; no answer will come.
 * - resume: visible again, or `pageshow` from the back/forward cache (`restored` says which).
 * - online: the network is back.
 * - beforeExit: Node's event loop is empty; the last chance to send.
 * No `unload`/`beforeunload` listeners: they keep pages out of the back/forward cache.
 * Where there is no such event (a worker has only `online`), that hook never fires.
 */
export interface LifecycleHandlers {
  hidden(): void;
  pagehide(): void;
  resume(restored: boolean): void;
  online(): void;
  beforeExit(): void;
}

/** Every tracker's beforeExit, behind a single `process` listener: a server making a tracker per request must not pile them up. */
const beforeExitHandlers = new Set<() => void>();
const runBeforeExit = () => beforeExitHandlers.forEach((handler) => handler());

const scopeOf = () => (typeof globalThis.addEventListener === 'function' ? (globalThis as unknown as EventTarget) : undefined);

/** Subscribes the handlers; returns the function that unsubscribes them all. */
export function onPageLifecycle(handlers: LifecycleHandlers): () => void {
  const unsubscribes: Array<() => void> = [];
  const listen = (target: EventTarget | undefined, type: string, listener: (event: Event) => void) => {
    if (typeof target?.addEventListener !== 'function') return;
    target.addEventListener(type, listener);
    unsubscribes.push(() => target.removeEventListener(type, listener));
  };
  const document = globalThis.document;
  const scope = scopeOf();

  listen(document, 'visibilitychange', () => (document.visibilityState === 'hidden' ? handlers.hidden() : handlers.resume(false)));
  listen(document, 'freeze', () => handlers.hidden());
  listen(scope, 'pagehide', () => handlers.pagehide());
  listen(scope, 'pageshow', (event) => (event as PageTransitionEvent).persisted && handlers.resume(true));
  listen(scope, 'online', () => handlers.online());

  const process = (globalThis as { process?: { on?: Function; off?: Function } }).process;
  if (!document && typeof process?.on === 'function') {
    if (!beforeExitHandlers.size) process.on('beforeExit', runBeforeExit);
    const handler = () => handlers.beforeExit();
    beforeExitHandlers.add(handler);
    unsubscribes.push(() => {
      beforeExitHandlers.delete(handler);
      if (!beforeExitHandlers.size) process.off?.('beforeExit', runBeforeExit);
    });
  }
  return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
}

/**
 * Another document of the origin changed localStorage (never fires in the writer). Apart from
 * the page's moments: Chromium makes a page's first `storage` listener cost milliseconds.
 */
export function onStorage(listener: (event: StorageEvent) => void): () => void {
  const scope = scopeOf();
  scope?.addEventListener('storage', listener as EventListener);
  return () => scope?.removeEventListener('storage', listener as EventListener);
}

/** `navigator.onLine` is only trustworthy when false: then no request can succeed. */
export function isOnline(): boolean {
  return globalThis.navigator?.onLine !== false;
}
