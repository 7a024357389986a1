/**
 * A bounded load test of the reference collector: the demo server runs in a child process on a
 * free 127.0.0.1 port, and this process sends it valid batches over keep-alive connections,
 * some of them resent (as a retrying tracker would), then prints throughput, latency, errors,
 * what the collector stored, and the server's memory as Markdown tables.
 *
 *   node scripts/load-collector.mjs            # needs dist/ (npm run build); about 15 s on 2 cores
 *   node scripts/load-collector.mjs --requests 40000 --max-events-in-memory 20000 --max-remembered-ids 100000
 *                                              # smaller caps, to watch memory level off once both are reached
 *
 * Bounded in count (REQUESTS) and time (TIME_LIMIT_MS): it stops by itself, and exits 1 when the
 * collector stored other than exactly the events sent, each once.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixed, integer, mebibytes, table } from './bench/markdown.mjs';

const CHILD = fileURLToPath(new URL('./load-collector/collector-child.mjs', import.meta.url));
const SCHEMA = new URL('../dist/schema.mjs', import.meta.url);

const DEFAULT_REQUESTS = 20_000;
const ARGS = parseArgs({
  options: {
    requests: { type: 'string' },
    'max-events-in-memory': { type: 'string' },
    'max-remembered-ids': { type: 'string' },
  },
}).values;
const REQUESTS = Number(ARGS.requests ?? DEFAULT_REQUESTS);
/** The collector's memory caps; its own defaults unless given. */
const COLLECTOR_OPTIONS = {
  maxEventsInMemory: ARGS['max-events-in-memory'] === undefined ? undefined : Number(ARGS['max-events-in-memory']),
  maxRememberedIds: ARGS['max-remembered-ids'] === undefined ? undefined : Number(ARGS['max-remembered-ids']),
};
const EVENTS_PER_BATCH = 20;
const CONNECTIONS = 50;
/** Every this many requests resends an earlier batch instead: its events must count as duplicates. */
const RESEND_EVERY = 20;
/**
 * Resends pick among this many latest delivered batches, as a retrying tracker would: a batch
 * from long ago may be past the collector's dedupe window (`maxRememberedIds`) by design.
 */
const RESEND_FROM_LATEST = 100;
/** No new request starts after this; the run then ends with what was sent. */
const TIME_LIMIT_MS = 45_000;
/** A request without an answer by then counts as an error. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Retained heap is measured (after a full GC) at these fractions of the run, to show whether it levels off. */
const CHECKPOINTS = [0.25, 0.5, 0.75, 1];

/** Numbers the messages to the child, so each answer finds its question. */
let lastQuestion = 0;

if (!(Number.isInteger(REQUESTS) && REQUESTS > 0)) {
  console.error('load-collector: --requests takes a positive whole number');
  process.exit(1);
}
if (!existsSync(SCHEMA)) {
  console.error('load-collector: dist/schema.mjs is missing; run `npx rollup -c` (or npm run build) first');
  process.exit(1);
}

await main();

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'homing-load-'));
  const file = join(dir, 'events.ndjson');
  const child = fork(CHILD, [file, JSON.stringify(COLLECTOR_OPTIONS)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), TIME_LIMIT_MS + 2 * REQUEST_TIMEOUT_MS + 10_000).unref();
  try {
    const [{ url, pid }] = await once(child, 'message');
    const sample = (gc = false) => ask(child, { type: 'sample', gc });
    const baseline = await sample(true);

    const run = await sendLoad(`${url}v1/batch`, sample);

    const final = await sample(true);
    const vmHighWater = await readVmHighWater(pid);
    child.send({ type: 'stop' });
    await once(child, 'exit');
    const storedLines = await countLines(file);
    report({ run, baseline, final, storedLines, vmHighWater });
    const expected = expectedCounts(run);
    const stored = final.state;
    const exact =
      stored.unique === expected.unique && stored.duplicates === expected.duplicates && storedLines === expected.unique;
    if (!exact) {
      console.error(`\nload-collector: expected ${expected.unique} unique and ${expected.duplicates} duplicates, ` +
        `the collector has ${stored.unique} unique, ${stored.duplicates} duplicates, ${storedLines} lines in its file`);
      process.exitCode = 1;
    }
  } finally {
    clearTimeout(killTimer);
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends up to REQUESTS batches over CONNECTIONS keep-alive connections and records every outcome. */
async function sendLoad(endpoint, sample) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = new Float64Array(REQUESTS);
  /** @type {string[][]} the messageIds of each batch answered 200, to resend some */
  const delivered = [];
  const outcome = { ok: 0, resent: 0, resentOk: 0, errors: /** @type {Record<string, number>} */ ({}) };
  const checkpoints = [];
  let next = 0;
  let checkpoint = 0;
  const started = performance.now();
  const deadline = started + TIME_LIMIT_MS;

  async function worker() {
    while (next < REQUESTS && performance.now() < deadline) {
      const index = next++;
      const resend = index % RESEND_EVERY === RESEND_EVERY - 1 && delivered.length > 0;
      const ids = resend
        ? delivered[delivered.length - 1 - (index % Math.min(delivered.length, RESEND_FROM_LATEST))]
        : Array.from({ length: EVENTS_PER_BATCH }, () => randomUUID());
      const body = JSON.stringify({ batch: ids.map(eventWith), sentAt: new Date().toISOString() });
      const sentAt = performance.now();
      const status = await post(agent, endpoint, body);
      latencies[index] = performance.now() - sentAt;
      if (resend) outcome.resent += 1;
      if (status === 200) {
        outcome.ok += 1;
        if (resend) outcome.resentOk += 1;
        else delivered.push(ids);
      } else {
        outcome.errors[status] = (outcome.errors[status] ?? 0) + 1;
      }
      // One worker at a time pauses for a checkpoint; the others keep the load on meanwhile.
      while (checkpoint < CHECKPOINTS.length && next >= CHECKPOINTS[checkpoint] * REQUESTS) {
        const at = CHECKPOINTS[checkpoint++];
        const memory = await sample(true);
        checkpoints.push({ at, requests: next, ...memory });
      }
    }
  }

  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  const sent = Math.min(next, REQUESTS);
  return {
    sent,
    elapsedMs,
    timedOut: sent < REQUESTS,
    latencies: latencies.slice(0, sent).sort(),
    outcome,
    uniqueSent: (outcome.ok - outcome.resentOk) * EVENTS_PER_BATCH,
    checkpoints,
  };
}

/** POSTs one batch; resolves to the status, or to a word for what went wrong. */
function post(agent, endpoint, body) {
  return new Promise((resolve) => {
    const req = request(endpoint, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      timeout: REQUEST_TIMEOUT_MS,
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve('response error'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(error.message === 'timeout' ? 'timeout' : (error.code ?? 'network error')));
    req.end(body);
  });
}

/** An event like the ones homing sends from a page: about 500 bytes of JSON. */
function eventWith(messageId) {
  return {
    type: 'track',
    event: 'Signed Up',
    properties: { plan: 'pro', seats: 5, trial: false, source: 'pricing-page' },
    messageId,
    anonymousId: '6f0c2a4e-1f2b-4c3d-9e8f-0a1b2c3d4e5f',
    timestamp: new Date().toISOString(),
    context: {
      library: { name: 'homing', version: '0.1.0' },
      page: { url: 'https://shop.example/pricing?ref=ad', path: '/pricing', referrer: 'https://search.example/', title: 'Pricing' },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      locale: 'en-US',
      timezone: 'Europe/Berlin',
      sessionId: '1893456000000',
    },
  };
}

function expectedCounts(run) {
  return { unique: run.uniqueSent, duplicates: run.outcome.resentOk * EVENTS_PER_BATCH };
}

function report({ run, baseline, final, storedLines, vmHighWater }) {
  const { latencies, outcome, elapsedMs } = run;
  const percentile = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const errors = Object.entries(outcome.errors).map(([what, count]) => `${count} × ${what}`).join(', ') || '0';
  const expected = expectedCounts(run);
  const state = final.state;
  console.log(`\n## Collector load test\n`);
  console.log(
    `${integer(run.sent)} requests of ${EVENTS_PER_BATCH} events (every ${RESEND_EVERY}th a resend) over ` +
      `${CONNECTIONS} keep-alive connections to 127.0.0.1; server in a child process; ${cpus().length} CPUs; ` +
      `collector ${isEmpty(COLLECTOR_OPTIONS) ? 'with its default caps' : `with ${JSON.stringify(COLLECTOR_OPTIONS)}`}` +
      `${run.timedOut ? `; **stopped at the ${TIME_LIMIT_MS / 1000} s limit**` : ''}\n`,
  );
  console.log(
    table(
      ['figure', 'value'],
      [
        ['requests', integer(run.sent)],
        ['elapsed', `${fixed(elapsedMs / 1000, 1)} s`],
        ['requests/s', integer((run.sent / elapsedMs) * 1000)],
        ['events/s', integer(((run.sent * EVENTS_PER_BATCH) / elapsedMs) * 1000)],
        ['latency p50', `${fixed(percentile(50), 1)} ms`],
        ['latency p95', `${fixed(percentile(95), 1)} ms`],
        ['latency p99', `${fixed(percentile(99), 1)} ms`],
        ['latency max', `${fixed(latencies.at(-1) ?? NaN, 1)} ms`],
        ['errors', errors],
        ['unique events stored (collector / NDJSON lines / expected)', `${integer(state.unique)} / ${integer(storedLines)} / ${integer(expected.unique)}`],
        ['duplicates counted (collector / expected)', `${integer(state.duplicates)} / ${integer(expected.duplicates)}`],
        ['events held in memory (maxEventsInMemory)', integer(state.eventsInMemory)],
        ['server peak RSS (sampled / kernel VmHWM)', `${mebibytes(final.peak.rss)} / ${vmHighWater ? mebibytes(vmHighWater) : 'n/a'}`],
        ['server peak heapUsed (sampled)', mebibytes(final.peak.heapUsed)],
      ],
    ),
  );
  console.log(`\n### Server memory along the run (after a full GC)\n`);
  console.log(
    table(
      ['at', 'requests', 'events stored', 'events in memory', 'heapUsed', 'RSS'],
      [
        ['start', '0', '0', '0', mebibytes(baseline.heapUsed), mebibytes(baseline.rss)],
        ...run.checkpoints.map((point) => [
          `${point.at * 100}%`,
          integer(point.requests),
          integer(point.state.unique),
          integer(point.state.eventsInMemory),
          mebibytes(point.heapUsed),
          mebibytes(point.rss),
        ]),
        ['end', integer(run.sent), integer(state.unique), integer(state.eventsInMemory), mebibytes(final.heapUsed), mebibytes(final.rss)],
      ],
    ),
  );
}

function isEmpty(options) {
  return Object.values(options).every((value) => value === undefined);
}

/** The child's peak resident set as the kernel counted it (Linux only). */
async function readVmHighWater(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kib ? Number(kib) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function countLines(file) {
  if (!existsSync(file)) return 0;
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  }
  return lines;
}

/** Sends a message to the child and resolves with its answer, which carries the same id. */
function ask(child, message) {
  const id = ++lastQuestion;
  return new Promise((resolve, reject) => {
    const onMessage = (answer) => {
      if (answer.id !== id) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(answer);
    };
    const onExit = (code) => reject(new Error(`collector child exited (${code}) before answering ${message.type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...message, id });
  });
}
