// The auth sample service: a Fastify server, as the real auth is. The ALB
// routes /auth/* here and health-checks /auth/health (infra/lib/config/services.ts).
import Fastify from 'fastify';

const service = 'auth';
const revision = process.env.REVISION ?? 'dev';
const app = Fastify({ logger: true });

app.get('/health', async () => ({ status: 'ok', service, revision }));
app.get('/auth/health', async () => ({ status: 'ok', service, revision }));
// Who is asking: the real service reads a session; the sample has none to read.
app.get('/auth/session', async (_request, reply) => reply.code(401).send({ error: 'no session' }));

process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

// 0.0.0.0 in a task (the ALB reaches the ENI); HOST=127.0.0.1 on a workstation.
await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
