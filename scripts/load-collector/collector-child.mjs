/**
 * Run by load-collector.mjs as `node --expose-gc collector-child.mjs <ndjson file> <options JSON>` with an IPC
 * channel: starts the demo server on a free loopback port with the sinks `options.sinkList` names
 * (as COLLECTOR_SINKS would; `file` writes to the given file), samples its own memory every few
 * milliseconds, and answers the parent's messages:
 *
 *   → { type: 'listening', url, pid }                       once the server is up
 *   ← { type: 'sample', id, gc }  → { id, ... }            memory now (after a full GC if asked), peaks, collector state
 *   ← { type: 'stop' }                                      closes the server and exits
 */
import { startDemoServer } from '../../demo/server.mjs';
import { createSinks } from '../../demo/sinks/config.mjs';

/** Peaks between samples go unseen; every 20 ms catches any that lasts a request. */
const SAMPLE_EVERY_MS = 20;

const [file, options = '{}'] = process.argv.slice(2);
if (!process.send) throw new Error('collector-child.mjs needs an IPC channel: run it with fork()');
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const { sinkList = 'file', ...collectorOptions } = JSON.parse(options);
const sinks = await createSinks(sinkList, { file });
const demo = await startDemoServer({ port: 0, host: '127.0.0.1', sinks, ...collectorOptions });
const peak = { rss: 0, heapUsed: 0 };
const sampler = setInterval(recordPeak, SAMPLE_EVERY_MS);

process.on('message', async (message) => {
  if (message.type === 'sample') {
    if (message.gc) globalThis.gc();
    const { rss, heapUsed, heapTotal, arrayBuffers } = recordPeak();
    process.send({ id: message.id, rss, heapUsed, heapTotal, arrayBuffers, peak: { ...peak }, state: demo.collector.state });
  } else if (message.type === 'stop') {
    clearInterval(sampler);
    await demo.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

process.send({ type: 'listening', url: demo.url, pid: process.pid });

function recordPeak() {
  const memory = process.memoryUsage();
  peak.rss = Math.max(peak.rss, memory.rss);
  peak.heapUsed = Math.max(peak.heapUsed, memory.heapUsed);
  return memory;
}
