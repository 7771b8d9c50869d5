// The api sample service: a Fastify server, as the real api is. The ALB routes
// /api/* here and health-checks /api/health (infra/lib/config/services.ts).
import { existsSync } from 'node:fs';
import Fastify from 'fastify';

// RDS forces TLS and the task asks for a verified connection (PGSSLMODE=verify-full):
// without the CA bundle the image should carry (Dockerfile, RDS_CA_BUNDLE_URL) every
// database connection would fail, so fail at start, where the deployment sees it.
const caBundle = process.env.NODE_EXTRA_CA_CERTS ?? process.env.PGSSLROOTCERT;
if (/^verify-/.test(process.env.PGSSLMODE ?? '') && !(caBundle && existsSync(caBundle))) {
  console.error(
    `PGSSLMODE=${process.env.PGSSLMODE} but the RDS CA bundle ${caBundle ?? '(NODE_EXTRA_CA_CERTS unset)'} is not in the image: build it with --build-arg RDS_CA_BUNDLE_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem`,
  );
  process.exit(1);
}

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
