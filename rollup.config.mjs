import typescript from '@rollup/plugin-typescript';
import resolve from '@rollup/plugin-node-resolve';
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
const minify = terser({ ecma: 2022, module: false, compress: { passes: 2 }, format: { comments: false } });

// ── Extras (issue 16) ─────────────────────────────────────────────────────────────────────────
// Opt-in entry points: `homing/<name>` (ESM + CJS) and dist/homing-<name>.iife.js for script tags,
// plus dist/homing.all.iife.js (core + every extra). Each is a build of its own, so no extra shares
// a chunk with the core or another extra, and none of them changes dist/homing.iife.js.
const EXTRAS = [
  { name: 'pageviews', module: 'src/extras/pageviews.ts', script: 'src/extras/scripts/pageviews.ts' },
  { name: 'links', module: 'src/extras/links.ts', script: 'src/extras/scripts/links.ts' },
  { name: 'declarative', module: 'src/extras/declarative.ts', script: 'src/extras/scripts/declarative.ts' },
  { name: 'vitals', module: 'src/extras/vitals.ts', script: 'src/extras/scripts/vitals.ts' },
];
const extraBuilds = [
  ...EXTRAS.map(({ name, module }) => ({
    input: { [name]: module },
    plugins: [resolve({ browser: true }), ts(false)],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs' },
    ],
  })),
  ...EXTRAS.map(({ name, script }) => ({
    input: script,
    plugins: [resolve({ browser: true }), ts(false)],
    output: { file: `dist/homing-${name}.iife.js`, format: 'iife', plugins: [minify] },
  })),
  {
    input: 'src/browser-all.ts',
    plugins: [resolve({ browser: true }), ts(false)],
    output: { file: 'dist/homing.all.iife.js', format: 'iife', plugins: [minify] },
  },
];
// ── end of extras ─────────────────────────────────────────────────────────────────────────────

export default [
  // Separate builds, so the schema shares no chunk with the tracker.
  ...['homing', 'schema'].map((name, i) => ({
    input: { [name]: name === 'homing' ? 'src/index.ts' : 'src/schema.ts' },
    external,
    plugins: [resolve({ browser: true }), ts(i === 0)],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs' },
    ],
  })),
  // Node only: kept out of the main entry so that no browser bundle ever sees node:fs.
  {
    input: { 'file-store': 'src/store/file.ts' },
    external: [/^node:/],
    plugins: [ts(false)],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs' },
    ],
  },
  {
    input: 'src/browser.ts',
    plugins: [resolve({ browser: true }), ts(false)],
    output: { file: 'dist/homing.iife.js', format: 'iife', plugins: [minify] },
  },
  {
    input: 'src/snippet.js',
    output: { file: 'dist/snippet.min.js', format: 'es', plugins: [minify] },
  },
  ...extraBuilds,
];
