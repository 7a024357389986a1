import { defineConfig } from '@playwright/test';

/** Debian's Chromium; Playwright cannot download its own browsers on these machines. */
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Lets a page served by a page.route stand-in reach the loopback collector.
  '--disable-features=LocalNetworkAccessChecks',
];

export default defineConfig({
  testDir: '.',
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
