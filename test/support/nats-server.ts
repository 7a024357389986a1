/**
 * A real `nats-server -js` for the collector's JetStream tests: on a free 127.0.0.1 port, with its
 * store in a directory the test owns, so it can be killed and started again on the same store.
 * The server is Debian's package, installed by `scripts/ensure-nats.mjs` when missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { ensureNatsServer } from '../../scripts/ensure-nats.mjs';

/** apt-get update and install take a minute or two on a fresh machine. */
export const NATS_INSTALL_TIMEOUT_MS = 300_000;
/** JetStream recovers its store on start; a few hundred milliseconds here, more on a loaded machine. */
const READY_TIMEOUT_MS = 15_000;
const READY_LINE = 'Server is ready';

export interface NatsServer {
  port: number;
  /** `nats://127.0.0.1:<port>` */
  url: string;
  /** Ends the server at once (SIGKILL unless told), as a crash would. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Installs nats-server if needed and returns the command that runs it. */
export function natsServerCommand(): string {
  return ensureNatsServer() as string;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `nats-server -js` and resolves once it says it is ready. */
export async function startNatsServer({ command, port, storeDir }: { command: string; port: number; storeDir: string }): Promise<NatsServer> {
  const child = spawn(command, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForReady(child);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server was not ready within ${READY_TIMEOUT_MS} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    };
    // nats-server logs to stderr; both are read so neither pipe fills up.
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
}
