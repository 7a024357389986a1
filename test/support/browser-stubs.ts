import { vi } from 'vitest';

/**
 * Gives Node the window-level events homing listens to (`online`, `pagehide`, ...): returns the
 * target to dispatch them on. Undone by `vi.unstubAllGlobals()`.
 */
export function stubWindowEvents(): EventTarget {
  const target = new EventTarget();
  vi.stubGlobal('addEventListener', target.addEventListener.bind(target));
  vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target));
  return target;
}

/** A navigator whose `onLine` the test can flip. */
export function stubNavigator(onLine: boolean): { onLine: boolean } {
  const navigator = { onLine };
  vi.stubGlobal('navigator', navigator);
  return navigator;
}

/** A document whose visibility the test can change, firing `visibilitychange` as a browser would. */
export function stubDocument() {
  const document = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState, referrer: '', title: 'Test page' });
  vi.stubGlobal('document', document);
  return {
    hide() {
      document.visibilityState = 'hidden';
      document.dispatchEvent(new Event('visibilitychange'));
    },
  };
}
