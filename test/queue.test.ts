import { expect, it } from 'vitest';
import { createQueue } from '../src/queue/queue';
import { storedEventNumbered } from './support/events';

it('does not call a batch a run when an adopted event lies between its first and last', () => {
  const removed: Array<{ seqs: number[]; run: boolean }> = [];
  const queue = createQueue(10, { put: () => {}, remove: (events, run) => removed.push({ seqs: events.map((e) => e.seq), run }) });
  queue.push([storedEventNumbered(3), storedEventNumbered(7)]);
  const batch = queue.take(10, Infinity);
  // An orphan tracked at the same time as this tab: its events interleave with the batch in flight.
  queue.adopt([storedEventNumbered(1), storedEventNumbered(6)]);

  queue.settle(batch);

  // A run would be one range delete, [queue, 3, e3]..[queue, 7, e7], taking e6 with it.
  expect(removed).toEqual([{ seqs: [3, 7], run: false }]);
});
