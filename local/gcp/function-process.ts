/**
 * A Cloud Run function instance's process, as the host starts and stops it: the port it is given
 * (Cloud Run's `PORT`), the startup probe (the port accepting a connection), the
 * functions-framework binary it runs, and its stop (its process group, SIGTERM then SIGKILL).
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** A free TCP port on 127.0.0.1 (what Cloud Run's `PORT` is to a function: a port to listen on). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

/** Resolves once `port` accepts a connection (retrying every 50 ms), rejects when `stopped` does. */
export async function accepting(port: number, stopped: Promise<never>): Promise<void> {
  let gone = false;
  stopped.catch(() => {
    gone = true;
  });
  const attempt = () =>
    new Promise<boolean>((ok) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        ok(true);
      });
      socket.once('error', () => ok(false));
    });
  const probe = async () => {
    while (!gone && !(await attempt())) await new Promise((r) => setTimeout(r, 50));
  };
  await Promise.race([probe(), stopped]);
}

/** SIGTERM to the host's process group, SIGKILL after 3 s; resolves when it exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    kill('SIGTERM');
  });
}

/** The `functions-framework` binary of the package's own dependency (what `npm start` runs on Cloud Run). */
export function frameworkBinary(packageDir: string): string {
  const main = createRequire(join(packageDir, 'package.json')).resolve('@google-cloud/functions-framework');
  // The package's `bin` (build/src/main.js) sits beside its main (build/src/index.js).
  return join(dirname(main), 'main.js');
}

/** Stops an instance: its process, its metadata server, its emulators' front. */
export async function stopInstance(h: {
  child: ChildProcess;
  metadata: { close(): Promise<void> };
  emulatorFront?: { stop(): Promise<unknown> };
}): Promise<void> {
  await stopChild(h.child);
  await h.metadata.close();
  await h.emulatorFront?.stop();
}
