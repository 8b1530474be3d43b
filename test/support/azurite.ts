/**
 * Starts Azurite's blob and queue services (npm `azurite`) on free 127.0.0.1 ports with in-memory
 * persistence, for tests and the demo. Callers must stop() it; processes are also killed on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Azurite's fixed development account. The key is the public, documented emulator key (Learn
 * "Use the Azurite emulator": well-known storage account and key), not a secret.
 */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  blobPort: number;
  queuePort: number;
  connectionString: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tryOnce = (): void => {
      if (child.exitCode !== null) return reject(new Error(`azurite exited early with code ${child.exitCode}`));
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`azurite did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startAzurite(timeoutMs = 20_000): Promise<Azurite> {
  const workdir = mkdtempSync(join(tmpdir(), 'azurite-'));
  const [blobPort, queuePort] = [await freePort(), await freePort()];
  // --location cannot be combined with --inMemoryPersistence; cwd keeps any stray files out of the repo.
  const common = ['--inMemoryPersistence', '--disableTelemetry', '--silent', '--loose', '--skipApiVersionCheck'];
  const start = (script: string, args: string[]): ChildProcess =>
    spawn(process.execPath, [require.resolve(`azurite/dist/src/${script}`), ...args, ...common], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: workdir,
    });
  const blob = start('blob/main.js', ['--blobHost', '127.0.0.1', '--blobPort', String(blobPort)]);
  const queue = start('queue/main.js', ['--queueHost', '127.0.0.1', '--queuePort', String(queuePort)]);
  const children = [blob, queue];
  const killAll = (): void => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  process.once('exit', killAll);
  try {
    await Promise.all([waitForPort(blobPort, blob, timeoutMs), waitForPort(queuePort, queue, timeoutMs)]);
  } catch (err) {
    await Promise.all(children.map(stopChild));
    rmSync(workdir, { recursive: true, force: true });
    throw err;
  }
  const base = 'http://127.0.0.1';
  return {
    blobPort,
    queuePort,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${base}:${blobPort}/${AZURITE_ACCOUNT};QueueEndpoint=${base}:${queuePort}/${AZURITE_ACCOUNT};`,
    async stop() {
      process.removeListener('exit', killAll);
      await Promise.all(children.map(stopChild));
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}
