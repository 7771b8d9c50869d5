// The web sample service: a tiny HTTP server the build-push demo and tests build and push.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const service = 'web';

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', service, revision: process.env.REVISION ?? 'dev' }));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(port, () => console.log(`${service} listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
