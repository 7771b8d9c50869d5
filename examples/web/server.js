// The web sample service: the front end, a small page served by Fastify. The
// ALB sends every path no other rule takes here and health-checks `/`
// (infra/lib/config/services.ts).
import Fastify from 'fastify';

const revision = process.env.REVISION ?? 'dev';
const app = Fastify({ logger: true });

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Alva</title></head>
<body><h1>Alva</h1><p>web, revision ${revision}</p></body>
</html>
`;
app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
app.get('/health', async () => ({ status: 'ok', service: 'web', revision }));

process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

// 0.0.0.0 in a task (the ALB reaches the ENI); HOST=127.0.0.1 on a workstation.
await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
