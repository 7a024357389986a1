/**
 * Bundle sizes of every file a page can load from dist/: the script-tag builds (`*.iife.js`), the
 * ESM entries (`*.mjs`) and the snippet, found by name so that a new build shows up by itself.
 * Raw, minified (terser, as the IIFE build), gzip level 9 and brotli at max quality.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { minify } from 'terser';

/** The options rollup.config.mjs gives terser for dist/homing.iife.js, so all files are minified alike. */
const TERSER_OPTIONS = { ecma: 2020, compress: { passes: 2 }, format: { comments: false } };
/** A file terser shrinks by less than this was minified by the build: its shipped bytes are measured as they are. */
const ALREADY_MINIFIED_RATIO = 0.99;

/** The kinds of file measured, by name; the CommonJS twins of the ESM entries are for `require` in Node and are left out. */
const KINDS = [
  { kind: 'script tag', pattern: /\.iife\.js$/ },
  { kind: 'snippet', pattern: /^snippet.*\.js$/ },
  { kind: 'ESM', pattern: /\.mjs$/ },
];
/** An entry that imports a `node:` module cannot run in a page; it is labelled so. */
const NODE_IMPORT = /\b(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/;

export async function measureBundleSizes(distDir, root) {
  const entries = await readdir(distDir, { withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => ({ path: join(distDir, entry.name), kind: KINDS.find(({ pattern }) => pattern.test(entry.name))?.kind }))
    .filter((file) => file.kind)
    .sort((a, b) => KINDS.findIndex(({ kind }) => kind === a.kind) - KINDS.findIndex(({ kind }) => kind === b.kind) || a.path.localeCompare(b.path));
  const sizes = [];
  for (const file of files) sizes.push(await measureFile(file.path, relative(root, file.path), file.kind));
  return sizes;
}

async function measureFile(path, name, kind) {
  const code = await readFile(path, 'utf8');
  const raw = Buffer.from(code);
  const terse = Buffer.from((await minify(code, { ...TERSER_OPTIONS, module: path.endsWith('.mjs') })).code ?? code);
  const shippedMinified = terse.length >= raw.length * ALREADY_MINIFIED_RATIO;
  const minifiedBytes = shippedMinified ? raw : terse;
  return {
    file: name,
    kind: NODE_IMPORT.test(code) ? `${kind}, Node only` : kind,
    shippedMinified,
    raw: raw.length,
    minified: minifiedBytes.length,
    gzip: gzipSync(minifiedBytes, { level: 9 }).length,
    brotli: brotliCompressSync(minifiedBytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: minifiedBytes.length },
    }).length,
  };
}
