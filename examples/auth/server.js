// The auth sample service: a Fastify server, as the real auth is. The ALB
// routes /auth/* here and health-checks /auth/health (infra/lib/config/services.ts).
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
