/**
 * Reading a request body from a stranger: within a byte limit before and after gzip, without
 * holding more than the limit, and parsing it as JSON within a nesting limit, so that no body,
 * however built, costs the server more than a bounded amount of memory, time or stack.
 */
import { createGunzip } from 'node:zlib';

/**
 * The deepest JSON either server accepts. homing cuts properties at 32 levels (`MAX_DEPTH` in
 * `src/sanitize.ts`), which sit 4 levels into a batch; the schema check and `JSON.stringify`
 * recurse, and a few thousand levels overflow their stack.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Reads a request body without ever holding more than `maxBytes`: the declared length is checked
 * first, then bytes are counted as they stream in, after gzip too when the body is compressed.
 * Past the limit it stops reading and leaves the request unread (no async iterator: leaving one
 * would destroy the socket before the 413 is written); gunzip stops with it, so a small body that
 * inflates to gigabytes costs no more than `maxBytes` of output.
 * @param {import('node:http').IncomingMessage} req
 * @param {number} maxBytes
 * @returns {Promise<{ kind: 'ok', text: string } | { kind: 'tooLarge' | 'unsupportedEncoding' | 'invalidGzip' | 'aborted' }>}
 */
export function readBody(req, maxBytes) {
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve({ kind: 'tooLarge' });
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip'].includes(encoding)) return Promise.resolve({ kind: 'unsupportedEncoding' });

  return new Promise((resolve) => {
    const body = encoding === 'identity' ? req : req.pipe(createGunzip());
    /** @type {Buffer[]} */
    const chunks = [];
    let rawBytes = 0;
    let bodyBytes = 0;
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      req.off('data', countRaw);
      body.off('data', collect);
      if (result.kind !== 'ok' && body !== req) {
        req.unpipe(body);
        body.destroy();
      }
      if (result.kind !== 'ok') req.pause();
      resolve(result);
    };
    const countRaw = (chunk) => {
      rawBytes += chunk.length;
      if (rawBytes > maxBytes) finish({ kind: 'tooLarge' });
    };
    const collect = (chunk) => {
      bodyBytes += chunk.length;
      if (bodyBytes > maxBytes) return finish({ kind: 'tooLarge' });
      chunks.push(chunk);
    };
    if (body !== req) req.on('data', countRaw);
    body.on('data', collect);
    body.on('end', () => finish({ kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    // Only gunzip errors reach here: pipe() does not forward the request's own errors.
    if (body !== req) body.on('error', () => finish({ kind: 'invalidGzip' }));
    req.on('error', () => finish({ kind: 'aborted' }));
    req.on('close', () => {
      if (!req.complete) finish({ kind: 'aborted' });
    });
  });
}

/**
 * Parses JSON text, refusing it before parsing when it nests deeper than `maxDepth`.
 * @param {string} text
 * @param {number} [maxDepth]
 * @returns {{ kind: 'ok', value: unknown } | { kind: 'invalid' | 'tooDeep' }}
 */
export function parseJson(text, maxDepth = MAX_JSON_DEPTH) {
  if (nestsDeeperThan(text, maxDepth)) return { kind: 'tooDeep' };
  try {
    return { kind: 'ok', value: JSON.parse(text) };
  } catch {
    return { kind: 'invalid' };
  }
}

/** One pass over the text counting open brackets outside strings; malformed text is JSON.parse's to refuse. */
function nestsDeeperThan(text, maxDepth) {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth -= 1;
    }
  }
  return false;
}
