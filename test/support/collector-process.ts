/**
 * The reference collector as its own process, started the way an operator would start it
 * (`node demo/server.mjs` with `COLLECTOR_SINKS`), on a free 127.0.0.1 port: several of them stand
 * for the stateless collectors behind a load balancer.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../demo/server.mjs', import.meta.url));
/** Node's start-up and the collector's imports; more on a loaded machine. */
const START_TIMEOUT_MS = 15_000;

export interface CollectorProcess {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  batchUrl: string;
  stop(): Promise<void>;
}

/** Starts `node demo/server.mjs` with these variables and resolves once it prints its address. */
export function startCollectorProcess(env: Record<string, string>): Promise<CollectorProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /homing demo: (http:\/\/\S+\/)/.exec(output)?.[1];
      if (!url) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve({
        url,
        batchUrl: `${url}v1/batch`,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before it started:\n${output}`));
    });
  });
}
