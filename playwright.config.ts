// `npx playwright test` from the repo root; the configuration lives beside the specs.
export { default } from './e2e/playwright.config';
