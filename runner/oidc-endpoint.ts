/**
 * The OIDC token request endpoint GitHub gives a job granted `id-token: write`
 * (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN): a step
 * asks `GET <url>&audience=<aud>` with `Authorization: Bearer <token>` and
 * gets `{"value": "<JWT>"}`, the job's token minted by the run's issuer. A
 * `run:` step reads its own claims this way (a reusable workflow learns its
 * own repository and commit from job_workflow_ref/job_workflow_sha), as
 * @actions/core's getIDToken does. Served on 127.0.0.1 only, one bearer per job.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** Mints the job's token for an audience (the job's OidcIssuer.mint with its identity). */
export type MintToken = (audience: string) => string;

export class OidcTokenEndpoint {
  private server?: Server;
  private readonly jobs = new Map<string, { mint: MintToken; defaultAudience: string }>();

  /**
   * The two variables a job's steps get; `defaultAudience` is GitHub's when the
   * request names none (the URL of the repository owner).
   */
  async register(
    mint: MintToken,
    defaultAudience: string,
  ): Promise<{ ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string }> {
    const port = await this.listening();
    const bearer = randomBytes(24).toString('hex');
    this.jobs.set(bearer, { mint, defaultAudience });
    return {
      // GitHub's URL carries a query already: clients append `&audience=`.
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/idtoken?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: bearer,
    };
  }

  /** The job ended: its bearer no longer gets a token. */
  unregister(bearer: string): void {
    this.jobs.delete(bearer);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }

  private async listening(): Promise<number> {
    if (!this.server) {
      const server = createServer((req, res) => {
        const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const job = bearer ? this.jobs.get(bearer) : undefined;
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        res.setHeader('content-type', 'application/json');
        if (req.method !== 'GET' || url.pathname !== '/idtoken') {
          res.statusCode = 404;
          res.end(JSON.stringify({ message: 'Not Found' }));
        } else if (!job) {
          res.statusCode = 401;
          res.end(JSON.stringify({ message: 'Bad credentials' }));
        } else {
          res.end(
            JSON.stringify({ value: job.mint(url.searchParams.get('audience') || job.defaultAudience) }),
          );
        }
      });
      server.unref();
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
      this.server = server;
    }
    return (this.server.address() as AddressInfo).port;
  }
}
