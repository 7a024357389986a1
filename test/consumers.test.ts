import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPackage, REPO_DIR, run, type PackedPackage } from './support/packed-package';

/** npm install of the tarball, then tsc and node per project, on a shared 2-core machine. */
const CONSUMER_TIMEOUT_MS = 60_000;

/** The repo's own TypeScript, so the consumers compile with the version homing is built with. */
const TSC = join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc');

/** What a consumer needs besides homing, taken from the repo's node_modules rather than the network. */
const LINKED_PACKAGES = ['zod', '@types/node'];

/** A tracking plan as a type, used by both consumers; a wrong name must fail to compile. */
const EVENTS_TYPE = `type Events = {
  'Signed Up': { plan: 'free' | 'pro'; seats?: number };
  'Video Played': { id: string };
};`;

/** Shared by both consumers: a typed tracker (disabled: no endpoint) and the schema, printed as one JSON line. */
const CONSUMER_BODY = `${EVENTS_TYPE}

const tracker = createTracker<Events>({ endpoint: '' });
tracker.track('Signed Up', { plan: 'pro' });
tracker.track('Video Played', { id: 'v1' });
// @ts-expect-error: not an event of the plan
tracker.track('Signed Out');
// @ts-expect-error: not a plan
tracker.track('Signed Up', { plan: 'enterprise' });

// Well typed, and still refused at run time: a batch holds at least one event.
const emptyBatch: WireBatch = { batch: [], sentAt: new Date(0).toISOString() };
const stats: TrackerStats = tracker.stats();
console.log(JSON.stringify({ version: VERSION, queued: stats.queued, schemaRefusesEmptyBatch: !batchSchema.safeParse(emptyBatch).success }));
`;

const tsconfig = ({ lib, types, skipLibCheck }: Consumer) =>
  JSON.stringify({
    compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib, types, strict: true, skipLibCheck, outDir: 'out' },
    include: ['src'],
  });

interface Consumer {
  name: string;
  packageType: 'module' | 'commonjs';
  lib: string[];
  /** `@types/…` packages in scope. */
  types: string[];
  /**
   * false checks every declaration file, homing's included (seconds, for zod's); true is tsc's
   * default for new projects, where the `@ts-expect-error` lines still prove the types are live.
   */
  skipLibCheck: boolean;
  source: string;
}

const CONSUMERS: Consumer[] = [
  {
    // A browser app's ESM: import syntax, DOM types.
    name: 'esm-consumer',
    packageType: 'module',
    lib: ['ES2022', 'DOM'],
    types: [],
    skipLibCheck: false,
    source: `import { createTracker, VERSION, type TrackerStats } from 'homing';
import { batchSchema, type WireBatch } from 'homing/schema';

${CONSUMER_BODY}`,
  },
  {
    // A Node service in CommonJS: tsc turns these imports into require(); Node's types, no DOM.
    name: 'cjs-consumer',
    packageType: 'commonjs',
    lib: ['ES2022'],
    types: ['node'],
    skipLibCheck: true,
    source: `import { createTracker, VERSION, type TrackerStats } from 'homing';
import { batchSchema, type WireBatch } from 'homing/schema';
import { createFileStore } from 'homing/file-store';
import { join } from 'node:path';

const fileStore = createFileStore(join(__dirname, 'unused.log'));
if (fileStore.kind !== 'file') throw new Error('homing/file-store did not load');
${CONSUMER_BODY}`,
  },
];

let packed: PackedPackage;
beforeAll(async () => {
  packed = await packPackage();
  await writeFile(join(packed.dir, 'package.json'), JSON.stringify({ name: 'homing-consumers', private: true }));
  await run('npm', ['install', '--no-save', '--no-package-lock', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', packed.tarball], {
    cwd: packed.dir,
  });
  await mkdir(join(packed.dir, 'node_modules', '@types'), { recursive: true });
  for (const name of LINKED_PACKAGES) await symlink(join(REPO_DIR, 'node_modules', name), join(packed.dir, 'node_modules', name), 'dir');
  for (const consumer of CONSUMERS) {
    const dir = join(packed.dir, consumer.name);
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: consumer.name, private: true, type: consumer.packageType }));
    await writeFile(join(dir, 'tsconfig.json'), tsconfig(consumer));
    await writeFile(join(dir, 'src', 'index.ts'), consumer.source);
  }
}, CONSUMER_TIMEOUT_MS);
afterAll(() => packed?.remove());

describe('projects that install the packed tarball', () => {
  for (const consumer of CONSUMERS) {
    it(
      `a ${consumer.packageType === 'module' ? 'ESM' : 'CommonJS'} project compiles with moduleResolution node16 and runs`,
      async () => {
        const dir = join(packed.dir, consumer.name);
        const compiled = await run(process.execPath, [TSC, '-p', dir]).catch((failed: { stdout: string }) => failed);
        expect(compiled.stdout).toBe('');
        const emitted = await run('grep', ['-c', consumer.packageType === 'module' ? '^import ' : 'require("homing', join(dir, 'out', 'index.js')]);
        expect(Number(emitted.stdout)).toBeGreaterThanOrEqual(2);
        const { stdout } = await run(process.execPath, [join(dir, 'out', 'index.js')], { cwd: dir });
        expect(JSON.parse(stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), queued: 0, schemaRefusesEmptyBatch: true });
      },
      CONSUMER_TIMEOUT_MS,
    );
  }
});
