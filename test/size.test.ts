import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

/** The budgets live in package.json's `sizeBudget`: gzip bytes at level 9, per built file. */
const budgets = packageJson.sizeBudget as Record<string, number>;

describe('bundle size budgets', () => {
  for (const [file, budget] of Object.entries(budgets)) {
    it(`${file} stays within ${budget} bytes gzipped`, () => {
      const gzipped = gzipSync(readFileSync(new URL(`../${file}`, import.meta.url)), { level: 9 }).length;
      expect(gzipped).toBeLessThanOrEqual(budget);
    });
  }

  it('the snippet stays within 600 bytes minified, before gzip', () => {
    expect(readFileSync(new URL('../dist/snippet.min.js', import.meta.url)).length).toBeLessThanOrEqual(600);
  });

  it('keeps zod and eval out of the browser bundles', () => {
    for (const file of ['dist/homing.iife.js', 'dist/homing.mjs', 'dist/homing.cjs']) {
      const code = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      expect(code).not.toMatch(/ZodError|\$ZodType|['"]zod['"]|\beval\(|new Function\(|node:fs/);
    }
  });
});
