/**
 * A tiny static server on 127.0.0.1 for the fresh-page bench: one HTML page, the files at the top
 * of dist/ under /dist/, and a collector stand-in at POST /v1/batch that answers 200 to anything.
 * Every response is cross-origin isolated (COOP same-origin, COEP require-corp), which gives the
 * page a 5 µs `performance.now()` instead of the 100 µs of an ordinary page in Chromium.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';

/** What makes `crossOriginIsolated` true, and with it the finer timer. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
/** Every context is fresh, and dist/ may be rebuilt between runs: nothing may come from a cache. */
const NO_CACHE = { 'Cache-Control': 'no-store' };

/**
 * @param {object} options
 * @param {string} options.distDir absolute path of dist/
 * @param {Record<string, string>} options.pages HTML by path, e.g. `{ '/fresh.html': '<!doctype html>…' }`
 * @returns {Promise<{ url: string, batches: { requests: number, bytes: number }, close(): Promise<void> }>}
 */
export async function startIsolatedServer({ distDir, pages }) {
  const batches = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'POST' && pathname === '/v1/batch') return answerBatch(req, res, batches);
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'Method Not Allowed');
    if (pages[pathname] !== undefined) return send(res, 200, 'text/html; charset=utf-8', pages[pathname]);
    // Only plain file names at the top of dist/: no path can climb out of it.
    if (pathname.startsWith('/dist/') && basename(pathname) === pathname.slice('/dist/'.length)) return sendScript(res, join(distDir, basename(pathname)));
    send(res, 404, 'text/plain', 'Not Found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    batches,
    close() {
      const closed = new Promise((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

function answerBatch(req, res, batches) {
  batches.requests++;
  req.on('data', (chunk) => (batches.bytes += chunk.length));
  req.on('end', () => send(res, 200, 'application/json', '{}'));
}

async function sendScript(res, file) {
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) return send(res, 404, 'text/plain', 'Not Found');
  res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Length': found.size, ...ISOLATION_HEADERS, ...NO_CACHE });
  createReadStream(file).pipe(res);
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...ISOLATION_HEADERS, ...NO_CACHE });
  res.end(body);
}
