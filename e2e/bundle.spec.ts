import { readFileSync } from 'node:fs';
import { DIST_DIR, expect, test } from './helpers';

/** Marks of zod's code, whatever the minifier renames: its error and type classes, its internals, its import. */
const ZOD_CODE = [/ZodError/, /ZodType/, /\b_zod\b/, /\$ZodCheck/, /from\s*["']zod["']/, /require\(\s*["']zod["']\s*\)/, /import\(\s*["']zod["']\s*\)/];

/** Comments may name zod (to say it is not there); code may not. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

test.describe('the browser bundles', () => {
  for (const file of ['homing.iife.js', 'homing.mjs']) {
    test(`${file} carries no zod`, () => {
      const source = readFileSync(`${DIST_DIR}${file}`, 'utf8');
      for (const mark of ZOD_CODE) expect(source, `${file} matches ${mark}`).not.toMatch(mark);
      expect(withoutComments(source)).not.toMatch(/zod/i);
    });
  }

  test('homing.mjs imports nothing, so no zod can come in through an import either', () => {
    const source = withoutComments(readFileSync(`${DIST_DIR}homing.mjs`, 'utf8'));
    expect(source).not.toMatch(/^\s*import\b/m);
    expect(source).not.toMatch(/\bimport\s*\(/);
  });

  test('the schema bundle, for servers and tests, is where zod lives', () => {
    // The control: the marks above do find zod where it is.
    expect(readFileSync(`${DIST_DIR}schema.mjs`, 'utf8')).toMatch(/from\s*["']zod["']/);
  });
});
