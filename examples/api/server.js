// The api sample service: a Fastify server, as the real api is. The ALB routes
// /api/* here and health-checks /api/health (infra/lib/config/services.ts).
import Fastify from 'fastify';

const service = 'api';
const revision = process.env.REVISION ?? 'dev';
const app = Fastify({ logger: true });

const health = async () => ({ status: 'ok', service, revision });
app.get('/health', health);
app.get('/api/health', health);
app.get('/api/version', async () => ({ service, revision, node: process.version }));

// ECS stops a task with SIGTERM: finish the requests in flight, then exit.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

// In a task the ALB reaches the ENI, so 0.0.0.0; run on a workstation with HOST=127.0.0.1.
await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
