/** `npm run sim` serves the staging scenario for people: the SDK and the call log work against it. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { SimCall } from '../../sim/index.js';
import { CLUSTER, SERVICES, clientConfig, freePort } from './helpers.js';

let child: ChildProcess | undefined;
afterAll(() => {
  // npm runs tsx in a shell: end the whole process group this test started.
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
});

describe('npm run sim', () => {
  it('serves DescribeServices for the four staging services and /_sim/calls as JSON', async () => {
    const port = await freePort();
    child = spawn(
      'npm',
      [
        'run',
        'sim',
        '--',
        '--scenario',
        'sim/scenarios/staging.json',
        '--port',
        String(port),
        '--speed',
        '10',
      ],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`http://127.0.0.1:${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });

    // IAM is enforced in the staging world: a session of its read-only role, as an administrator hands it out.
    const session = (await (
      await fetch(`http://127.0.0.1:${port}/_sim/sessions`, {
        method: 'POST',
        body: JSON.stringify({ roleName: 'alva-staging-github-read' }),
      })
    ).json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    const { accessKeyId, secretAccessKey, sessionToken } = session;
    const ecs = new ECSClient({
      ...clientConfig(`http://127.0.0.1:${port}`),
      credentials: { accessKeyId, secretAccessKey, sessionToken },
    });
    const { services, failures } = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
    );
    ecs.destroy();
    expect(failures).toEqual([]);
    expect(services!.map((s) => [s.serviceName, s.status, s.runningCount])).toEqual(
      SERVICES.map((name) => [name, 'ACTIVE', 1]),
    );

    const res = await fetch(`http://127.0.0.1:${port}/_sim/calls`);
    expect(res.headers.get('content-type')).toBe('application/json');
    const calls = (await res.json()) as SimCall[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      service: 'ecs',
      operation: 'DescribeServices',
      status: 200,
      mutating: false,
    });
  });
});
