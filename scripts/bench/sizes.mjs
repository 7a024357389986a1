/** Bundle sizes: raw, minified (terser, as the IIFE build), gzip level 9 and brotli at max quality. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { minify } from 'terser';

/** The options rollup.config.mjs gives terser for dist/homing.iife.js, so all files are minified alike. */
const TERSER_OPTIONS = { ecma: 2020, compress: { passes: 2 }, format: { comments: false } };
/** A file terser shrinks by less than this was minified by the build: its shipped bytes are measured as they are. */
const ALREADY_MINIFIED_RATIO = 0.99;

export async function measureBundleSizes(distDir, root) {
  const files = (await listScripts(distDir)).sort();
  const sizes = [];
  for (const file of files) sizes.push(await measureFile(file, relative(root, file)));
  return sizes;
}

async function listScripts(dir) {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listScripts(path);
      return /\.(m|c)?js$/.test(entry.name) ? [path] : [];
    }),
  );
  return nested.flat();
}

async function measureFile(path, name) {
  const code = await readFile(path, 'utf8');
  const raw = Buffer.from(code);
  const terse = Buffer.from((await minify(code, { ...TERSER_OPTIONS, module: path.endsWith('.mjs') })).code ?? code);
  const shippedMinified = terse.length >= raw.length * ALREADY_MINIFIED_RATIO;
  const minifiedBytes = shippedMinified ? raw : terse;
  return {
    file: name,
    shippedMinified,
    raw: raw.length,
    minified: minifiedBytes.length,
    gzip: gzipSync(minifiedBytes, { level: 9 }).length,
    brotli: brotliCompressSync(minifiedBytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: minifiedBytes.length },
    }).length,
  };
}
