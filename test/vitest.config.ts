import { defineConfig } from 'vitest/config';

export default defineConfig({
  // As in the debug build: errors carry their sentences.
  define: { __DEBUG__: 'true' },
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
    environment: 'node',
  },
});
