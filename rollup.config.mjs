import typescript from '@rollup/plugin-typescript';
import resolve from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import terser from '@rollup/plugin-terser';
import { dts } from 'rollup-plugin-dts';

/**
 * The library's entry points: each row builds dist/<name>.mjs and .cjs, and its bundled types
 * dist/<name>.d.ts (for `import`) and .d.cts (for `require`). package.json's `exports` has one
 * block per row, in the same shape: `./<name>` → import {types, default} / require {types, default}.
 * Each row is a build of its own, so entries share no chunk (the schema never pulls in the tracker).
 * test/package.test.ts checks that package.json's `exports` matches this table.
 */
export const ENTRIES = {
  homing: 'src/index.ts',
  schema: 'src/schema.ts',
  // Node only: kept out of the main entry so that no browser bundle ever sees node:fs.
  'file-store': 'src/store/file.ts',
  // Opt-in: what a site may not need never weighs on the core bundle.
  utm: 'src/extras/utm.ts',
  sampling: 'src/extras/sampling.ts',
  compress: 'src/extras/compress.ts',
  pageviews: 'src/extras/pageviews.ts',
  links: 'src/extras/links.ts',
  declarative: 'src/extras/declarative.ts',
  vitals: 'src/extras/vitals.ts',
};

/**
 * Script-tag extras: dist/homing-<name>.iife.js plugs into the page's tracker through
 * `homing(fn)`; dist/homing.all.iife.js is the core with every extra, each turned on by a
 * `data-` attribute. None of them changes dist/homing.iife.js.
 */
const SCRIPT_EXTRAS = ['pageviews', 'links', 'declarative', 'vitals'];

// zod is the schema's peer; node: builtins stay imports. idb-keyval is bundled (only the few
// hundred bytes we use), so dist/homing.mjs runs in a browser as is.
const external = ['zod', /^node:/];
const ts = () => typescript({ tsconfig: './tsconfig.json', declaration: false, declarationDir: undefined, outDir: 'dist' });
/** Production builds carry error codes only: every `__DEBUG__` branch goes, and the sentences with it. */
const debug = (on) => replace({ preventAssignment: true, values: { __DEBUG__: String(on) } });
const minify = terser({ ecma: 2022, module: false, compress: { passes: 3 }, format: { comments: false } });
// The snippet is edited by hand after pasting: its URL, options and optional integrity must stay
// arguments of the call, not constants folded into the body.
const minifySnippet = terser({ ecma: 2022, module: false, compress: { reduce_vars: false }, format: { comments: false } });

const library = (name, input) => [
  {
    input: { [name]: input },
    external,
    plugins: [resolve({ browser: true }), debug(false), ts()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs' },
    ],
  },
  {
    input: { [name]: input },
    external,
    plugins: [dts({ tsconfig: './tsconfig.json' })],
    // The same declarations twice: TypeScript reads a .d.cts as describing CommonJS, a .d.ts
    // next to a "type": "module" package as ESM; one file cannot be both.
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts' },
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts' },
    ],
  },
];

export default [
  ...Object.entries(ENTRIES).flatMap(([name, input]) => library(name, input)),
  // The `development` export condition: the same module, with the sentences and the debug log.
  { input: 'src/index.ts', external, plugins: [resolve({ browser: true }), debug(true), ts()], output: { file: 'dist/homing.development.mjs', format: 'es' } },
  { input: 'src/browser.ts', plugins: [resolve({ browser: true }), debug(false), ts()], output: { file: 'dist/homing.iife.js', format: 'iife', plugins: [minify] } },
  { input: 'src/browser.ts', plugins: [resolve({ browser: true }), debug(true), ts()], output: { file: 'dist/homing.debug.iife.js', format: 'iife', plugins: [minify] } },
  ...SCRIPT_EXTRAS.map((name) => ({
    input: `src/extras/scripts/${name}.ts`,
    plugins: [resolve({ browser: true }), debug(false), ts()],
    output: { file: `dist/homing-${name}.iife.js`, format: 'iife', plugins: [minify] },
  })),
  { input: 'src/browser-all.ts', plugins: [resolve({ browser: true }), debug(false), ts()], output: { file: 'dist/homing.all.iife.js', format: 'iife', plugins: [minify] } },
  {
    input: 'src/snippet.js',
    // Rollup would otherwise fold away the integrity branch, its argument being absent here.
    treeshake: false,
    output: { file: 'dist/snippet.min.js', format: 'es', plugins: [minifySnippet] },
  },
];
