/**
 * The demo server: the reference collector, the demo pages (`demo/public/` at `/`), the built
 * bundles (`dist/` at `/dist/`), and a CSP report sink, all on one origin so the pages can run
 * under a strict Content-Security-Policy.
 *
 *   node demo/server.mjs            # PORT (8080), COLLECTOR_FILE (demo/data/events.ndjson)
 *   COLLECTOR_SINKS=file,nats://127.0.0.1:4222 node demo/server.mjs
 *
 * COLLECTOR_SINKS (default `file`) lists where accepted events go: `file`, `nats://host:port` (NATS
 * JetStream), an `http(s)://` batch URL (a relay); see `sinks/config.mjs`. COLLECTOR_RETRY_AFTER
 * (default 2) is the `Retry-After` in seconds of a 503 when a sink cannot take a batch.
 */
import { createReadStream, mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCollector, sendJson } from './collector.mjs';
import { parseJson, readBody } from './request-body.mjs';
import { createSinks, DEFAULT_SINKS } from './sinks/config.mjs';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const DIST_DIR = fileURLToPath(new URL('../dist/', import.meta.url));
const DATA_DIR = fileURLToPath(new URL('./data/', import.meta.url));

/** The pages must work with no inline script or style at all; `report-uri` is for browsers without `report-to`. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  'report-to csp',
  'report-uri /csp-report',
].join('; ');

/**
 * First-party paths (README, "Serving from your own origin"): plain names on the site's origin
 * for the bundle and the collector, answered as the paths they stand for.
 */
export const FIRST_PARTY_ALIASES = new Map([
  ['/js/h.js', '/dist/homing.iife.js'],
  ['/t', '/v1/batch'],
]);

/** CSP reports are small; anything bigger is not a report. */
const MAX_CSP_REPORT_BYTES = 64 * 1024;
/** Keeps a page stuck in a violation loop from growing the server's memory. */
const MAX_CSP_REPORTS = 200;

/** A browser sends its headers in one packet; a client still sending them after this is not a browser. */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * The whole request, a 500 KiB batch included, must arrive within this; that is 17 KB/s, slower
 * than a 3G phone. A client trickling a byte a second is answered 408 and closed.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Node checks those deadlines on a timer (30 s by default); once a second keeps them near their value. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** The status Node itself answers to each kind of `clientError`; any other is a 400. */
const CLIENT_ERROR_STATUS = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};
const STATUS_TEXT = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * Starts the demo server.
 * @param {object} [options]
 * @param {number} [options.port] default 0: any free port
 * @param {string} [options.host] default `127.0.0.1`
 * @param {string} [options.file] NDJSON file for the collector; none by default
 * @param {import('./sinks/sink.mjs').Sink[]} [options.sinks] more sinks for the collector; none by default
 * @param {number} [options.unavailableRetryAfterSeconds] `Retry-After` of the collector's 503 when a sink cannot take a batch
 * @param {number} [options.maxBodyBytes] the collector's body limit; default 500 KiB
 * @param {number} [options.maxEventsInMemory] accepted events the collector keeps as objects; default 100,000
 * @param {number} [options.maxRememberedIds] `messageId`s the collector remembers for dedupe; default 1,000,000
 * @param {number} [options.headersTimeoutMs] default {@link HEADERS_TIMEOUT_MS}
 * @param {number} [options.requestTimeoutMs] default {@link REQUEST_TIMEOUT_MS}
 * @returns {Promise<{ url: string, port: number, collector: import('./collector.mjs').Collector,
 *   cspReports: object[], close: () => Promise<void> }>}
 */
export async function startDemoServer({
  port = 0,
  host = '127.0.0.1',
  file,
  sinks,
  unavailableRetryAfterSeconds,
  maxBodyBytes,
  maxEventsInMemory,
  maxRememberedIds,
  headersTimeoutMs = HEADERS_TIMEOUT_MS,
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
} = {}) {
  const collector = createCollector({ file, sinks, unavailableRetryAfterSeconds, maxBodyBytes, maxEventsInMemory, maxRememberedIds });
  /** @type {object[]} */
  const cspReports = [];
  /** The latest response on each connection, so a protocol error never writes into one under way. */
  const lastResponse = new WeakMap();

  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      // Node refuses a headers deadline later than the request's (0 turns a deadline off).
      headersTimeout: requestTimeoutMs > 0 ? Math.min(headersTimeoutMs, requestTimeoutMs) : headersTimeoutMs,
      connectionsCheckingInterval: Math.min(
        TIMEOUT_CHECK_INTERVAL_MS,
        ...[headersTimeoutMs, requestTimeoutMs].filter((ms) => ms > 0),
      ),
    },
    (req, res) => {
      lastResponse.set(req.socket, res);
      // A throw here would be uncaught and end the process: one odd request must not stop the server.
      try {
        route(req, res);
      } catch (error) {
        if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
        else res.destroy(/** @type {Error} */ (error));
      }
    },
  );
  server.on('clientError', (error, socket) => answerClientError(error, socket, lastResponse.get(socket)));

  function route(req, res) {
    aliasFirstPartyPath(req);
    if (collector.handle(req, res)) return;
    const pathname = pathnameOf(req.url);
    if (pathname === undefined) return sendText(res, 400, 'Bad Request');
    if (pathname === '/csp-reports' && req.method === 'GET') return sendJson(res, 200, cspReports);
    const answer =
      pathname === '/csp-report' && req.method === 'POST' ? recordCspReport(req, res, cspReports) : serveStatic(req, res, pathname);
    answer.catch(() => {
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}/`,
    port: address.port,
    collector,
    cspReports,
    async close() {
      await collector.close();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function serveStatic(req, res, pathname) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendText(res, 405, 'Method Not Allowed');
  }
  const isDist = pathname === '/dist' || pathname.startsWith('/dist/');
  const root = isDist ? DIST_DIR : PUBLIC_DIR;
  const file = resolveInside(root, isDist ? pathname.slice('/dist'.length) : pathname);
  if (!file) return sendText(res, 400, 'Bad Request');

  let found = await statFile(file);
  if (found?.isDirectory()) {
    if (!pathname.endsWith('/')) return redirect(res, `${pathname}/`);
    found = await statFile(join(file, 'index.html'));
    if (found) return sendFile(req, res, join(file, 'index.html'), found.size, isDist);
  }
  if (found?.isFile()) return sendFile(req, res, file, found.size, isDist);

  // SPA fallback: a deep link like /spa/pricing is the app's own route, rendered by spa.js.
  if (pathname.startsWith('/spa/') && !extname(pathname)) {
    const index = join(PUBLIC_DIR, 'spa', 'index.html');
    const spa = await statFile(index);
    if (spa) return sendFile(req, res, index, spa.size, false);
  }
  sendText(res, 404, 'Not Found');
}

/** Rewrites `/js/h.js` and `/t` (query string kept) to the paths they alias, as a proxy in front would. */
function aliasFirstPartyPath(req) {
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const alias = FIRST_PARTY_ALIASES.get(queryAt === -1 ? target : target.slice(0, queryAt));
  if (alias) req.url = queryAt === -1 ? alias : alias + target.slice(queryAt);
}

/** Maps a URL path into `root`, or returns undefined when it would escape it. */
function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = join(root, normalize(`/${decoded}`));
  return file.startsWith(root) || file + sep === root ? file : undefined;
}

async function statFile(file) {
  try {
    return await stat(file);
  } catch {
    return undefined;
  }
}

function sendFile(req, res, file, size, isDist) {
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const headers = {
    'Content-Type': type,
    'Content-Length': size,
    'X-Content-Type-Options': 'nosniff',
    // Tests rebuild dist/ and edit pages between runs; a cached copy would hide the change.
    'Cache-Control': isDist || type.startsWith('text/html') ? 'no-store' : 'no-cache',
  };
  if (type.startsWith('text/html')) {
    headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
    headers['Reporting-Endpoints'] = 'csp="/csp-report"';
    headers['Referrer-Policy'] = 'strict-origin-when-cross-origin';
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** Accepts both report formats: Reporting API (`application/reports+json`) and legacy `report-uri`. */
async function recordCspReport(req, res, reports) {
  const read = await readBody(req, MAX_CSP_REPORT_BYTES);
  if (read.kind === 'aborted') return;
  if (read.kind !== 'ok') {
    // The rest of an unread body is not worth reading; closing the connection stops it.
    if (!req.complete) res.setHeader('Connection', 'close');
    return sendText(res, read.kind === 'tooLarge' ? 413 : 400, read.kind === 'tooLarge' ? 'Payload Too Large' : 'Bad Request');
  }
  const json = parseJson(read.text);
  if (json.kind !== 'ok') return sendText(res, 400, 'Bad Request');
  const body = /** @type {any} */ (json.value);
  const received = Array.isArray(body)
    ? body.map((report) => ({ format: 'report-to', type: report?.type, url: report?.url, ...report?.body }))
    : [{ format: 'report-uri', ...body?.['csp-report'] }];
  // Only the newest are kept; a push(...received) of a huge array could also overflow the stack.
  for (const report of received.slice(-MAX_CSP_REPORTS)) reports.push(report);
  reports.splice(0, Math.max(0, reports.length - MAX_CSP_REPORTS));
  res.writeHead(204).end();
}

/**
 * Answers a request Node could not parse or that missed its deadline with the status Node would
 * send, as JSON like every other answer, then closes the connection. Mirrors Node's own handler:
 * nothing is written into a response whose headers are already out.
 * @param {NodeJS.ErrnoException} error
 * @param {import('node:stream').Duplex} socket
 * @param {import('node:http').ServerResponse | undefined} response the connection's latest response
 */
function answerClientError(error, socket, response) {
  const responding = response !== undefined && response.headersSent && !response.writableFinished;
  if (error.code !== 'ECONNRESET' && socket.writable && !responding) {
    const status = CLIENT_ERROR_STATUS[/** @type {keyof typeof CLIENT_ERROR_STATUS} */ (error.code)] ?? 400;
    const body = JSON.stringify({ error: STATUS_TEXT[status].toLowerCase().replaceAll(' ', '_') });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The path of a request target, or undefined for one no URL parser accepts (`//`, `//[`). */
function pathnameOf(target = '/') {
  try {
    return new URL(target, 'http://demo.invalid').pathname;
  } catch {
    return undefined;
  }
}

function redirect(res, location) {
  res.writeHead(301, { Location: location, 'Content-Length': 0 }).end();
}

function sendText(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.env.COLLECTOR_FILE ?? join(DATA_DIR, 'events.ndjson');
  const sinkList = process.env.COLLECTOR_SINKS || DEFAULT_SINKS;
  const retryAfter = process.env.COLLECTOR_RETRY_AFTER;
  if (sinkList.split(',').some((entry) => entry.trim() === 'file')) mkdirSync(dirname(file), { recursive: true });
  const sinks = await createSinks(sinkList, { file });
  const demo = await startDemoServer({
    port: Number(process.env.PORT ?? 8080),
    sinks,
    unavailableRetryAfterSeconds: retryAfter === undefined ? undefined : Number(retryAfter),
  });
  const where = sinks.map((sink) => (sink.name === 'file' ? `file ${file}` : `${sink.name} ${JSON.stringify(sink.health())}`));
  console.log(`homing demo: ${demo.url}`);
  console.log(`collector:   ${demo.url}v1/batch  (sinks: ${where.join('; ') || 'none'}; health at ${demo.url}health)`);
  const stop = async (signal) => {
    console.log(`\n${signal}: closing`);
    await demo.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
