/** Loopback helpers shared by the test servers (Prometheus, PostgreSQL). */
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the kernel picks it; a server started next can take it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
