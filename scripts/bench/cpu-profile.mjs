/**
 * Reading a V8 CPU profile (the DevTools protocol's `Profiler.stop` answer): how much of the
 * sampled time the main thread spent running JavaScript, and how much of that ran inside one
 * named function.
 */

/** The profile's pseudo-nodes that are not JavaScript. */
const NOT_JAVASCRIPT = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/**
 * Sampled milliseconds: `javascript` in total, `inside` the frames of `functionName` (what it
 * calls included), `outside` them, `gc` and `idle`. Each sample counts for the time until the next.
 * @param {{ nodes: { id: number, callFrame: { functionName: string }, children?: number[] }[], samples: number[], timeDeltas: number[] }} profile
 */
export function splitProfile(profile, functionName) {
  const parentOf = new Map();
  const byId = new Map();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const insideCache = new Map();
  const isInside = (id) => {
    if (!insideCache.has(id)) {
      const parent = parentOf.get(id);
      insideCache.set(id, byId.get(id).callFrame.functionName === functionName || (parent !== undefined && isInside(parent)));
    }
    return insideCache.get(id);
  };
  const totals = { javascript: 0, inside: 0, outside: 0, gc: 0, idle: 0 };
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    const name = byId.get(id).callFrame.functionName;
    if (name === '(garbage collector)') totals.gc += ms;
    else if (name === '(idle)') totals.idle += ms;
    else if (!NOT_JAVASCRIPT.has(name)) {
      totals.javascript += ms;
      totals[isInside(id) ? 'inside' : 'outside'] += ms;
    }
  });
  return totals;
}
