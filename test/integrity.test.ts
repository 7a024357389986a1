import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIST_DIR = new URL('../dist/', import.meta.url);

/** What a page loads with a `<script>` tag, read from dist/ itself rather than from the build script. */
const browserBundles = readdirSync(DIST_DIR)
  .filter((name) => name.endsWith('.iife.js') || name === 'snippet.min.js')
  .sort();

const integrity = JSON.parse(readFileSync(new URL('integrity.json', DIST_DIR), 'utf8')) as Record<string, string>;

describe('dist/integrity.json', () => {
  it('lists every browser bundle and nothing else', () => {
    expect(browserBundles).toEqual(expect.arrayContaining(['homing.iife.js', 'snippet.min.js']));
    expect(Object.keys(integrity).sort()).toEqual(browserBundles);
  });

  for (const name of browserBundles) {
    it(`holds the sha384 of ${name} as it is on disk`, () => {
      const digest = createHash('sha384').update(readFileSync(new URL(name, DIST_DIR))).digest('base64');
      expect(integrity[name]).toBe(`sha384-${digest}`);
    });
  }
});
