/** Starting an edge's HTTP server on loopback, the same for every edge. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on 127.0.0.1:`port` (0 = any free port); resolves with the server and the real port.
 * Each request counts as activity on `clock` until its response ends (VirtualClock.track).
 */
export async function listenLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port: number,
  clock?: { track(work: Promise<unknown>, what: string): unknown },
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    clock?.track(
      new Promise((served) => res.once('close', served)),
      `${req.method} ${req.headers.host ?? ''}${req.url}`,
    );
    void handle(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops a server and drops its open connections; resolves when it is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
