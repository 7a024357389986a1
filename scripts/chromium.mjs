/**
 * How homing's tests and benchmarks launch Chromium: Debian's build (Playwright cannot download
 * its own browsers on these machines), with the flags that keep it off the network.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
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
