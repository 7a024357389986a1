// `npx vitest run` from the repo root; the configuration lives beside the tests.
export { default } from './test/vitest.config';
