import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

/** Each extra's entry point and the function it exports. */
const EXTRAS = { pageviews: 'pageviews', links: 'links', declarative: 'declarativeEvents', vitals: 'vitals' } as const;

/** Runs `script` in a Node of its own at the package root, where `homing/...` resolves to this package. */
async function node(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 20_000 });
  return JSON.parse(stdout);
}

describe('the extras entry points', () => {
  for (const [name, exported] of Object.entries(EXTRAS)) {
    it(`homing/${name} resolves for import and require, exports ${exported}, and starts nothing where there is no page`, async () => {
      const probe = (load: string) => `
        const extra = ${load};
        const calls = [];
        const stop = extra.${exported}({ track: (...args) => calls.push(args), page: (...args) => calls.push(args) });
        stop();
        console.log(JSON.stringify({ type: typeof extra.${exported}, calls: calls.length }));`;
      const esm = await node(['--input-type=module', '-e', probe(`await import('homing/${name}')`)]);
      const cjs = await node(['--input-type=commonjs', '-e', probe(`require('homing/${name}')`)]);
      expect(esm).toEqual({ type: 'function', calls: 0 });
      expect(cjs).toEqual({ type: 'function', calls: 0 });
    });
  }

  it('keeps each extra out of dist/homing.iife.js and web-vitals out of every extra but vitals', () => {
    const read = (file: string) => readFileSync(new URL(`../../dist/${file}`, import.meta.url), 'utf8');
    const core = read('homing.iife.js');
    for (const marker of ['pageviews', 'Outbound Link Clicked', 'data-homing-event', 'Web Vital']) expect(core).not.toContain(marker);
    /** A string that only web-vitals' code holds: the name of the entry type LCP observes. */
    const WEB_VITALS_MARKER = 'largest-contentful-paint';
    expect(read('homing-vitals.iife.js')).toContain(WEB_VITALS_MARKER);
    for (const file of ['homing-pageviews.iife.js', 'homing-links.iife.js', 'homing-declarative.iife.js', 'homing.mjs', 'homing.cjs']) {
      expect(read(file)).not.toContain(WEB_VITALS_MARKER);
    }
  });
});
