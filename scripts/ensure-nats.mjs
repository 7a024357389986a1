// The JetStream tests and load runs need a NATS server. Debian's nats-server package has
// JetStream (`nats-server -js`); it is installed through apt-get the first time they run on a
// machine, as the Chromium step does for the e2e tests.
import { execSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Where Debian's package puts the server; PATH may not name /usr/sbin for every user. */
export const NATS_SERVER_CANDIDATES = ['nats-server', '/usr/bin/nats-server', '/usr/sbin/nats-server'];

/** The path of a runnable nats-server, or undefined when there is none. */
export function findNatsServer() {
  for (const candidate of NATS_SERVER_CANDIDATES) {
    try {
      execSync(`${candidate} --version`, { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Installs Debian's nats-server when none is found, and returns the command that runs it. */
export function ensureNatsServer() {
  const found = findNatsServer();
  if (found) return found;
  console.log("nats-server is missing; installing Debian's nats-server package");
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execSync(`${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq nats-server`, { stdio: 'inherit', env });
  const installed = findNatsServer();
  if (!installed) throw new Error('nats-server is still missing after apt-get install nats-server');
  return installed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(ensureNatsServer());
}
