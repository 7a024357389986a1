import typescript from '@rollup/plugin-typescript';
import resolve from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import terser from '@rollup/plugin-terser';

// idb-keyval is bundled (only its few hundred bytes we use), so dist/homing.mjs runs in a browser as is.
const external = ['zod'];
const ts = (declarations) =>
  typescript({
    tsconfig: './tsconfig.json',
    declaration: declarations,
    declarationDir: declarations ? 'dist' : undefined,
    outDir: 'dist',
  });
/** Production builds carry error codes only: every `__DEBUG__` branch goes, and the sentences with it. */
const debug = (on) => replace({ preventAssignment: true, values: { __DEBUG__: String(on) } });
const minify = terser({ ecma: 2022, module: false, compress: { passes: 3 }, format: { comments: false } });
const modules = (name) => [
  { dir: 'dist', format: 'es', entryFileNames: `${name}.mjs` },
  { dir: 'dist', format: 'cjs', entryFileNames: `${name}.cjs` },
];

/** Opt-in entry points: what a site may not need never weighs on the core bundle. */
const EXTRAS = { utm: 'src/extras/utm.ts', sampling: 'src/extras/sampling.ts', compress: 'src/extras/compress.ts' };

export default [
  { input: 'src/index.ts', external, plugins: [resolve({ browser: true }), debug(false), ts(true)], output: modules('homing') },
  // The `development` export condition: the same module, with sentences and debug logging.
  { input: 'src/index.ts', external, plugins: [resolve({ browser: true }), debug(true), ts(false)], output: { file: 'dist/homing.development.mjs', format: 'es' } },
  { input: 'src/schema.ts', external, plugins: [resolve({ browser: true }), ts(false)], output: modules('schema') },
  ...Object.entries(EXTRAS).map(([name, input]) => ({ input, external, plugins: [resolve({ browser: true }), debug(false), ts(false)], output: modules(name) })),
  // Node only: kept out of the main entry so that no browser bundle ever sees node:fs.
  { input: 'src/store/file.ts', external: [/^node:/], plugins: [debug(false), ts(false)], output: modules('file-store') },
  { input: 'src/browser.ts', plugins: [resolve({ browser: true }), debug(false), ts(false)], output: { file: 'dist/homing.iife.js', format: 'iife', plugins: [minify] } },
  { input: 'src/browser.ts', plugins: [resolve({ browser: true }), debug(true), ts(false)], output: { file: 'dist/homing.debug.iife.js', format: 'iife', plugins: [minify] } },
  { input: 'src/snippet.js', output: { file: 'dist/snippet.min.js', format: 'es', plugins: [minify] } },
];
