/**
 * Subresource integrity for the browser bundles: prints the `sha384-…` value of every
 * dist/*.iife.js and dist/snippet.min.js and writes them to dist/integrity.json, which ships in
 * the npm package. Runs after the whole rollup build (`npm run build`), so it sees every output.
 *
 *   node scripts/integrity.mjs
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const DIST_DIR = new URL('../dist/', import.meta.url);
/** Browsers accept sha256, sha384 and sha512; sha384 is what the SRI spec's examples and CDNs use. */
const ALGORITHM = 'sha384';

/** Every file a page loads with a `<script>` tag: the IIFE builds and the snippet. */
const isBrowserBundle = (name) => name.endsWith('.iife.js') || name === 'snippet.min.js';

const integrity = Object.fromEntries(
  readdirSync(DIST_DIR)
    .filter(isBrowserBundle)
    .sort()
    .map((name) => [name, `${ALGORITHM}-${createHash(ALGORITHM).update(readFileSync(new URL(name, DIST_DIR))).digest('base64')}`]),
);
if (Object.keys(integrity).length === 0) {
  console.error('integrity: no browser bundle in dist/; run rollup first');
  process.exit(1);
}
writeFileSync(new URL('integrity.json', DIST_DIR), `${JSON.stringify(integrity, null, 2)}\n`);
for (const [name, value] of Object.entries(integrity)) console.log(`${name.padEnd(24)} ${value}`);
