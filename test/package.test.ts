import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { ENTRIES } from '../rollup.config.mjs';
import { LIBRARY_ENTRIES, packPackage, REPO_BIN, run, type PackedPackage } from './support/packed-package';

/** npm pack plus attw's TypeScript programs take a few seconds each on a shared 2-core machine. */
const PACKAGE_CHECK_TIMEOUT_MS = 60_000;

/** The resolution modes every entry point must pass: TypeScript's node16 from ESM and from CJS, and bundlers. */
const REQUIRED_RESOLUTIONS = ['node16-esm', 'node16-cjs', 'bundler'];

/**
 * `node10` (TypeScript's old `moduleResolution: node`) ignores `exports`, so it cannot see a
 * subpath like `homing/schema`; only the root entry is held to it.
 */
const NODE10_ROOT_ONLY = 'node10';

interface AttwProblem {
  kind: string;
  entrypoint?: string;
  resolutionKind?: string;
}
interface AttwReport {
  analysis: {
    entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }>;
    problems: Record<string, AttwProblem[]>;
  };
}

let packed: PackedPackage;
beforeAll(async () => {
  packed = await packPackage();
}, PACKAGE_CHECK_TIMEOUT_MS);
afterAll(() => packed?.remove());

/** The `exports` block each rollup entry must have: types first inside each of import and require. */
const exportsBlock = (name: string) => ({
  import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.mjs` },
  require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
});

describe('package.json exports', () => {
  it('has one block per rollup entry, in the shape of every other, and none without an entry', () => {
    const exportsMap = packageJson.exports as Record<string, { import?: unknown; require?: unknown }>;
    const subpathOf = (name: string) => (name === packageJson.name ? '.' : `./${name}`);
    for (const name of Object.keys(ENTRIES)) {
      // Other conditions (e.g. `development`) may come first; import and require keep this exact shape and order.
      const { import: esm, require: cjs } = exportsMap[subpathOf(name)] ?? {};
      expect(JSON.stringify({ import: esm, require: cjs }), name).toBe(JSON.stringify(exportsBlock(name)));
    }
    expect([...LIBRARY_ENTRIES].sort()).toEqual(Object.keys(ENTRIES).map(subpathOf).sort());
  });
});

describe('the packed npm package', () => {
  it('ships the license text and the integrity of its browser bundles', async () => {
    expect(packed.files).toEqual(expect.arrayContaining(['LICENSE', 'package.json', 'dist/integrity.json', 'dist/homing.iife.js']));
    const { stdout: license } = await run('tar', ['-xOzf', packed.tarball, 'package/LICENSE']);
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the homing authors\n/);
  });

  it(
    'resolves types for every entry point under node16 ESM, node16 CJS and bundlers (attw)',
    async () => {
      const report = await attw(packed.tarball, LIBRARY_ENTRIES);
      expect(Object.keys(report.analysis.entrypoints).sort()).toEqual([...LIBRARY_ENTRIES].sort());
      for (const [entry, { resolutions }] of Object.entries(report.analysis.entrypoints)) {
        for (const kind of REQUIRED_RESOLUTIONS) {
          expect(resolutions[kind]?.resolution?.fileName, `${entry} under ${kind}`).toMatch(/\.d\.c?ts$/);
        }
      }
      const problems = Object.values(report.analysis.problems).flat();
      const held = problems.filter((problem) => problem.resolutionKind !== NODE10_ROOT_ONLY || problem.entrypoint === '.');
      expect(held).toEqual([]);
    },
    PACKAGE_CHECK_TIMEOUT_MS,
  );

  it(
    'passes publint with no error, warning or suggestion',
    async () => {
      const tarball = await readFile(packed.tarball);
      const { messages, pkg } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) as ArrayBuffer },
        level: 'suggestion',
      });
      expect(messages.map((message) => `${message.type}: ${formatMessage(message, pkg) ?? message.code}`)).toEqual([]);
    },
    PACKAGE_CHECK_TIMEOUT_MS,
  );
});

/** Runs `attw <tarball> --format json`; it exits 1 whenever it reports a problem, node10's included. */
async function attw(tarball: string, entrypoints: string[]): Promise<AttwReport> {
  const args = [tarball, '--format', 'json', '--entrypoints', ...entrypoints];
  const stdout = await run(join(REPO_BIN, 'attw'), args, { maxBuffer: 64 * 1024 * 1024 }).then(
    (done) => done.stdout,
    (failed: { stdout?: string }) => failed.stdout ?? '',
  );
  return JSON.parse(stdout) as AttwReport;
}
