/**
 * What the host page's calls captured, waiting to be enriched all together in a task of their
 * own: a burst of a thousand track() calls costs the page a thousand small pushes, and homing
 * one task. `settle` runs it at once, for whoever needs it done (stats(), flush(), page exit).
 */
import { nextTask } from '../clock';

export function createBurst<Item>(process: (items: Item[]) => void) {
  let pending: Item[] = [];
  let scheduled = false;
  const settle = () => {
    scheduled = false;
    const items = pending;
    pending = [];
    if (items.length) process(items);
  };
  return {
    push(item: Item) {
      pending.push(item);
      if (scheduled) return;
      scheduled = true;
      nextTask(() => scheduled && settle());
    },
    settle,
    get size() {
      return pending.length;
    },
  };
}
