// The admin sample service: the back-office front end, a small page served by
// Fastify under /admin. The ALB routes /admin/* here and health-checks
// /admin/health (infra/lib/config/services.ts).
import Fastify from 'fastify';

const revision = process.env.REVISION ?? 'dev';
const app = Fastify({ logger: true });

app.get('/admin', async (_request, reply) =>
  reply
    .type('text/html; charset=utf-8')
    .send(`<!doctype html>\n<title>Alva admin</title>\n<h1>Admin</h1>\n<p>revision ${revision}</p>\n`),
);
app.get('/health', async () => ({ status: 'ok', service: 'admin', revision }));
app.get('/admin/health', async () => ({ status: 'ok', service: 'admin', revision }));

process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

// 0.0.0.0 in a task (the ALB reaches the ENI); HOST=127.0.0.1 on a workstation.
await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
