import { configDefaults, defineConfig } from 'vitest/config';

/** Also the root vitest.config.ts: `npx vitest run` finds the tests in test/, never the Playwright specs in e2e/. */
export default defineConfig({
  // As in the debug build: errors carry their sentences.
  define: { __DEBUG__: 'true' },
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'e2e/**'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
    environment: 'node',
  },
});
