/**
 * The package as npm would publish it: `npm pack` of the repo (with the dist/ of the last build)
 * into a temporary folder, and the package.json entries a consumer can import.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import packageJson from '../../package.json' with { type: 'json' };

export const run = promisify(execFile);

export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const REPO_BIN = join(REPO_DIR, 'node_modules', '.bin');

export interface PackedPackage {
  /** The temporary folder holding the tarball; a test may build consumer projects in it. */
  dir: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Every file in the tarball, relative to the package root (`dist/homing.mjs`, `LICENSE`). */
  files: string[];
  remove(): Promise<void>;
}

export async function packPackage(): Promise<PackedPackage> {
  const dir = await mkdtemp(join(tmpdir(), 'homing-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_DIR });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error('npm pack reported no tarball');
  return {
    dir,
    tarball: join(dir, packed.filename),
    files: packed.files.map((file) => file.path),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The library entry points: every `exports` subpath with `import`/`require` conditions
 * (`.`, `./schema`, `./file-store`, …). Plain file exports such as `./homing.iife.js` are not
 * modules with types and are left out.
 */
export const LIBRARY_ENTRIES: string[] = Object.entries(packageJson.exports as Record<string, unknown>)
  .filter(([, target]) => typeof target === 'object' && target !== null && 'import' in target && 'require' in target)
  .map(([subpath]) => subpath);
