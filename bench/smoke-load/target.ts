/**
 * The loopback target for the load benchmark: a trivial HTTP server in its own
 * process, with node:cluster workers so the server is not what limits the
 * generators. `/` answers at once, `/slow` after 5 ms. Prints `ready <port>` once every worker listens.
 * Usage: node bench/smoke-load/target.ts [workers=2] [port=0]
 */
import cluster from 'node:cluster';
import http from 'node:http';

const workers = Number(process.argv[2] ?? 2);
const port = Number(process.argv[3] ?? 18_080);

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('listening', (_worker, address) => {
    if (++listening === workers) console.log(`ready ${address.port}`);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const body = Buffer.from('ok');
  http
    .createServer((req, res) => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
        res.end(body);
      };
      // /slow answers after 5 ms: a known latency every generator should report alike
      if (req.url === '/slow') setTimeout(answer, 5);
      else answer();
    })
    .listen(port, '127.0.0.1');
}
