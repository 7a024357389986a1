import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../scripts/chromium.mjs';

const executablePath = CHROMIUM_PATH;
const args = CHROMIUM_ARGS;

export default defineConfig({
  // Absolute: the root playwright.config.ts re-exports this file, and a relative testDir would be read from there.
  testDir: fileURLToPath(new URL('.', import.meta.url)),
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    headless: true,
    launchOptions: { executablePath, args },
  },
  projects: [
    { name: 'chromium', testIgnore: /bfcache\.spec\.ts$/ },
    {
      // Playwright launches Chromium with --disable-back-forward-cache; this project alone keeps bfcache on.
      name: 'chromium-bfcache',
      testMatch: /bfcache\.spec\.ts$/,
      use: { launchOptions: { executablePath, args, ignoreDefaultArgs: ['--disable-back-forward-cache'] } },
    },
  ],
});
