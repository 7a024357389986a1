/**
 * A bounded load test of the reference collector: one or two collector processes (the demo server
 * in child processes, on free 127.0.0.1 ports) with the file sink or the JetStream sink, and this
 * process sending them valid batches over keep-alive connections, alternately, some of them resent
 * (as a retrying tracker would) to the other process. It prints throughput, latency, errors, what
 * was stored, and each server's memory as Markdown tables, for every setup asked for.
 *
 *   node scripts/load-collector.mjs            # needs dist/ (npm run build); the four setups, about a minute on 2 cores
 *   node scripts/load-collector.mjs --sinks file --processes 1 --requests 40000 --max-events-in-memory 20000 --max-remembered-ids 100000
 *                                              # one setup, smaller caps, to watch memory level off once both are reached
 *   node scripts/load-collector.mjs --runs 3   # each setup three times: the summary shows median (min–max)
 *
 * The JetStream setups start `nats-server -js` (installed by scripts/ensure-nats.mjs when missing)
 * on a free port with a temporary store, one stream per run. Bounded in count (REQUESTS) and time
 * (TIME_LIMIT_MS) per run: it stops by itself, and exits 1 when a run stored other than exactly
 * what it should: with JetStream, each event once in the stream; with files, each event once per
 * process that received it (a resend to the other process is stored there again: a file per
 * process is not a pipeline, which is why the JetStream sink exists).
 */
import { fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixed, integer, mebibytes, spread, table } from './bench/markdown.mjs';
import { summarize } from './bench/stats.mjs';
import { ensureNatsServer } from './ensure-nats.mjs';

const CHILD = fileURLToPath(new URL('./load-collector/collector-child.mjs', import.meta.url));
const SCHEMA = new URL('../dist/schema.mjs', import.meta.url);

const DEFAULT_REQUESTS = 20_000;
const ARGS = parseArgs({
  options: {
    requests: { type: 'string' },
    sinks: { type: 'string' },
    processes: { type: 'string' },
    runs: { type: 'string' },
    'max-events-in-memory': { type: 'string' },
    'max-remembered-ids': { type: 'string' },
  },
}).values;
const REQUESTS = Number(ARGS.requests ?? DEFAULT_REQUESTS);
const SINKS = (ARGS.sinks ?? 'file,jetstream').split(',').map((sink) => sink.trim());
const PROCESS_COUNTS = (ARGS.processes ?? '1,2').split(',').map(Number);
const RUNS = Number(ARGS.runs ?? 1);
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
/** nats-server recovers an empty store in well under a second. */
const NATS_READY_TIMEOUT_MS = 15_000;

/** Numbers the messages to the children, so each answer finds its question. */
let lastQuestion = 0;

if (!(Number.isInteger(REQUESTS) && REQUESTS > 0)) fail('--requests takes a positive whole number');
if (!(Number.isInteger(RUNS) && RUNS > 0)) fail('--runs takes a positive whole number');
if (!SINKS.every((sink) => sink === 'file' || sink === 'jetstream')) fail('--sinks takes file, jetstream or both');
if (!PROCESS_COUNTS.every((count) => count === 1 || count === 2)) fail('--processes takes 1, 2 or both');
if (!existsSync(SCHEMA)) fail('dist/schema.mjs is missing; run `npx rollup -c` (or npm run build) first');

await main();

function fail(message) {
  console.error(`load-collector: ${message}`);
  process.exit(1);
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'homing-load-'));
  const nats = SINKS.includes('jetstream') ? await startNats(join(dir, 'jetstream')) : undefined;
  /** @type {{ setup: string, results: object[] }[]} */
  const summaries = [];
  try {
    for (const sink of SINKS) {
      for (const processes of PROCESS_COUNTS) {
        const setup = `${sink}, ${processes} process${processes > 1 ? 'es' : ''}`;
        const results = [];
        for (let run = 1; run <= RUNS; run++) {
          const result = await runSetup({ dir, sink, processes, nats, label: `${setup}${RUNS > 1 ? `, run ${run}` : ''}` });
          results.push(result);
          if (!result.exact) process.exitCode = 1;
        }
        summaries.push({ setup, results });
      }
    }
    reportSummary(summaries);
  } finally {
    nats?.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts the collectors for one setup, sends the load, checks what was stored, stops them. */
async function runSetup({ dir, sink, processes, nats, label }) {
  const stream = `load_${randomUUID().replaceAll('-', '')}`;
  const children = Array.from({ length: processes }, (_, index) => {
    const file = join(dir, `${stream}-${index}.ndjson`);
    const sinkList = sink === 'file' ? 'file' : `${nats.url}?stream=${stream}&subject=${stream}`;
    const child = fork(CHILD, [file, JSON.stringify({ ...COLLECTOR_OPTIONS, sinkList })], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return { child, file };
  });
  const killTimer = setTimeout(() => children.forEach(({ child }) => child.kill('SIGKILL')), TIME_LIMIT_MS + 2 * REQUEST_TIMEOUT_MS + 20_000).unref();
  try {
    const started = await Promise.all(children.map(({ child }) => once(child, 'message').then(([message]) => message)));
    const targets = started.map(({ url }) => `${url}v1/batch`);
    const sampleAll = (gc = false) => Promise.all(children.map(({ child }) => ask(child, { type: 'sample', gc })));
    if (sink === 'jetstream') await waitForSinks(sampleAll);
    const baseline = await sampleAll(true);

    const run = await sendLoad(targets, sampleAll);

    const final = await sampleAll(true);
    const vmHighWater = await Promise.all(started.map(({ pid }) => readVmHighWater(pid)));
    for (const { child } of children) child.send({ type: 'stop' });
    await Promise.all(children.map(({ child }) => once(child, 'exit')));
    const stored =
      sink === 'file'
        ? (await Promise.all(children.map(({ file }) => countLines(file)))).reduce((sum, lines) => sum + lines, 0)
        : await countStreamMessages(nats.url, stream);
    const expected = expectedCounts(run, processes);
    const expectedStored = sink === 'file' ? expected.unique + expected.storedAgainElsewhere : expected.unique;
    const counted = final.reduce((sum, sample) => sum + sample.state.unique, 0);
    const exact = stored === expectedStored && counted === expected.unique + expected.storedAgainElsewhere;
    report({ label, sink, run, baseline, final, stored, expectedStored, vmHighWater });
    if (!exact) {
      console.error(`\nload-collector (${label}): expected ${expectedStored} stored and ${expected.unique + expected.storedAgainElsewhere} ` +
        `counted as new by the collectors; found ${stored} stored, ${counted} counted`);
    }
    return { run, final, vmHighWater, stored, expectedStored, exact };
  } finally {
    clearTimeout(killTimer);
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Waits until each collector's JetStream sink has connected and made its stream. */
async function waitForSinks(sampleAll) {
  const deadline = performance.now() + NATS_READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const samples = await sampleAll();
    if (samples.every((sample) => sample.state.sinks.every((sink) => sink.state === 'up'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('load-collector: the JetStream sinks did not come up');
}

/**
 * Sends up to REQUESTS batches over CONNECTIONS keep-alive connections, request n to target
 * n % targets, a resend to the target other than the original's, and records every outcome.
 */
async function sendLoad(targets, sampleAll) {
  // CONNECTIONS in all, shared by the targets: a socket left idle past the server's keep-alive timeout would be reset on reuse.
  const agent = new Agent({ keepAlive: true, maxSockets: Math.ceil(CONNECTIONS / targets.length) });
  const latencies = new Float64Array(REQUESTS);
  /** @type {{ ids: string[], storedAt: Set<number> }[]} each batch answered 200 and the processes that have it, to resend some */
  const delivered = [];
  /** resentOk: resends answered 200 by a process that had the batch; resentElsewhereOk: by one that did not yet */
  const outcome = { ok: 0, resent: 0, resentOk: 0, resentElsewhereOk: 0, errors: /** @type {Record<string, number>} */ ({}) };
  const checkpoints = [];
  let next = 0;
  let checkpoint = 0;
  const started = performance.now();
  const deadline = started + TIME_LIMIT_MS;

  async function worker() {
    while (next < REQUESTS && performance.now() < deadline) {
      const index = next++;
      const resend = index % RESEND_EVERY === RESEND_EVERY - 1 && delivered.length > 0;
      const original = resend ? delivered[delivered.length - 1 - (index % Math.min(delivered.length, RESEND_FROM_LATEST))] : undefined;
      const ids = original?.ids ?? Array.from({ length: EVENTS_PER_BATCH }, () => randomUUID());
      // A resend goes to the process after the one that first took the batch, as a retry behind a load balancer may.
      const target = original ? ([...original.storedAt][0] + 1) % targets.length : index % targets.length;
      const body = JSON.stringify({ batch: ids.map(eventWith), sentAt: new Date().toISOString() });
      const sentAt = performance.now();
      const status = await post(agent, targets[target], body);
      latencies[index] = performance.now() - sentAt;
      if (resend) outcome.resent += 1;
      if (status === 200) {
        outcome.ok += 1;
        if (!original) delivered.push({ ids, storedAt: new Set([target]) });
        else if (original.storedAt.has(target)) outcome.resentOk += 1;
        else {
          outcome.resentElsewhereOk += 1;
          original.storedAt.add(target);
        }
      } else {
        outcome.errors[status] = (outcome.errors[status] ?? 0) + 1;
      }
      // One worker at a time pauses for a checkpoint; the others keep the load on meanwhile.
      while (checkpoint < CHECKPOINTS.length && next >= CHECKPOINTS[checkpoint] * REQUESTS) {
        const at = CHECKPOINTS[checkpoint++];
        const memory = await sampleAll(true);
        checkpoints.push({ at, requests: next, memory });
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
    uniqueSent: (outcome.ok - outcome.resentOk - outcome.resentElsewhereOk) * EVENTS_PER_BATCH,
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

/**
 * unique: events sent, each once; storedAgainElsewhere: resent events that landed on a process
 * other than the original's, which only a shared log (JetStream) can recognise.
 */
function expectedCounts(run, processes) {
  return {
    unique: run.uniqueSent,
    storedAgainElsewhere: processes > 1 ? run.outcome.resentElsewhereOk * EVENTS_PER_BATCH : 0,
  };
}

function percentileOf(latencies, p) {
  return latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
}

/** One figure per process, `a / b`. */
function each(samples, pick) {
  return samples.map((sample) => mebibytes(pick(sample))).join(' / ');
}

function report({ label, sink, run, baseline, final, stored, expectedStored, vmHighWater }) {
  const { latencies, outcome, elapsedMs } = run;
  const errors = Object.entries(outcome.errors).map(([what, count]) => `${count} × ${what}`).join(', ') || '0';
  console.log(`\n## Collector load test: ${label}\n`);
  console.log(
    `${integer(run.sent)} requests of ${EVENTS_PER_BATCH} events (every ${RESEND_EVERY}th a resend, to the other process when there are two) over ` +
      `${CONNECTIONS} keep-alive connections to 127.0.0.1; servers in child processes; ${cpus().length} CPUs; ` +
      `collector ${isEmpty(COLLECTOR_OPTIONS) ? 'with its default caps' : `with ${JSON.stringify(COLLECTOR_OPTIONS)}`}` +
      `${run.timedOut ? `; **stopped at the ${TIME_LIMIT_MS / 1000} s limit**` : ''}\n`,
  );
  const storedWhere = sink === 'file' ? 'NDJSON lines, all files' : 'messages in the stream';
  console.log(
    table(
      ['figure', 'value'],
      [
        ['requests', integer(run.sent)],
        ['elapsed', `${fixed(elapsedMs / 1000, 1)} s`],
        ['requests/s', integer((run.sent / elapsedMs) * 1000)],
        ['events/s', integer(((run.sent * EVENTS_PER_BATCH) / elapsedMs) * 1000)],
        ['latency p50', `${fixed(percentileOf(latencies, 50), 1)} ms`],
        ['latency p95', `${fixed(percentileOf(latencies, 95), 1)} ms`],
        ['latency p99', `${fixed(percentileOf(latencies, 99), 1)} ms`],
        ['latency max', `${fixed(latencies.at(-1) ?? NaN, 1)} ms`],
        ['errors', errors],
        [`events stored (${storedWhere} / expected)`, `${integer(stored)} / ${integer(expectedStored)}`],
        ['unique events sent', integer(run.uniqueSent)],
        ['duplicates counted by the collectors', integer(final.reduce((sum, sample) => sum + sample.state.duplicates, 0))],
        ['answers by status, each process', final.map((sample) => JSON.stringify(sample.state.outcomes)).join(' / ')],
        ['server peak RSS, each (sampled)', each(final, (sample) => sample.peak.rss)],
        ['server peak RSS, each (kernel VmHWM)', vmHighWater.map((value) => (value ? mebibytes(value) : 'n/a')).join(' / ')],
        ['server peak heapUsed, each (sampled)', each(final, (sample) => sample.peak.heapUsed)],
      ],
    ),
  );
  console.log(`\n### Server memory along the run (after a full GC; each process)\n`);
  console.log(
    table(
      ['at', 'requests', 'events in memory', 'heapUsed', 'RSS'],
      [
        ['start', '0', '0', each(baseline, (sample) => sample.heapUsed), each(baseline, (sample) => sample.rss)],
        ...run.checkpoints.map((point) => [
          `${point.at * 100}%`,
          integer(point.requests),
          point.memory.map((sample) => integer(sample.state.eventsInMemory)).join(' / '),
          each(point.memory, (sample) => sample.heapUsed),
          each(point.memory, (sample) => sample.rss),
        ]),
      ],
    ),
  );
}

/** One line per setup: median (min–max) over its runs. */
function reportSummary(summaries) {
  console.log(`\n## Summary${RUNS > 1 ? `: median (min–max) of ${RUNS} runs` : ''}\n`);
  const figure = (results, pick, format = fixed) => {
    const values = results.map(pick);
    return RUNS > 1 ? spread(summarize(values), format) : format(values[0]);
  };
  console.log(
    table(
      ['setup', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'stored / expected', 'peak RSS per process (MiB)', 'heapUsed at end per process (MiB)'],
      summaries.map(({ setup, results }) => [
        setup,
        figure(results, ({ run }) => (run.sent / run.elapsedMs) * 1000, integer),
        figure(results, ({ run }) => percentileOf(run.latencies, 50)),
        figure(results, ({ run }) => percentileOf(run.latencies, 99)),
        results.map(({ run }) => Object.values(run.outcome.errors).reduce((sum, count) => sum + count, 0)).join(', '),
        results.map(({ stored, expectedStored }) => `${integer(stored)} / ${integer(expectedStored)}`).join(', '),
        figure(results, ({ final, vmHighWater }) => Math.max(...final.map((sample, index) => vmHighWater[index] ?? sample.peak.rss)) / 1024 / 1024),
        figure(results, ({ final }) => Math.max(...final.map((sample) => sample.heapUsed)) / 1024 / 1024),
      ]),
    ),
  );
}

function isEmpty(options) {
  return Object.values(options).every((value) => value === undefined);
}

/** Starts `nats-server -js` on a free port with its store in `storeDir`. */
async function startNats(storeDir) {
  const command = ensureNatsServer();
  const port = await freePort();
  const child = spawn(command, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server not ready within ${NATS_READY_TIMEOUT_MS} ms:\n${log}`)), NATS_READY_TIMEOUT_MS);
    const onData = (chunk) => {
      log += chunk;
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr.on('data', onData);
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${log}`)));
  });
  return { child, url: `nats://127.0.0.1:${port}` };
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function countStreamMessages(url, stream) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url.replace('nats://', '') });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
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

/** Sends a message to a child and resolves with its answer, which carries the same id. */
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
