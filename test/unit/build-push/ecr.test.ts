import { beforeEach, describe, expect, test } from '@jest/globals';
import {
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ImageNotFoundException,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLog } from '../../../lib/log.js';
import { awaitScan, checkRepositories, ecrLogin, ecrLookup, severityRank } from '../../../lib/images/ecr.js';
import { manualClock } from '../../../lib/time.js';

const ecrMock = mockClient(ECRClient);
const ecr = new ECRClient({ region: 'us-east-1' });
const DIGEST = `sha256:${'9'.repeat(64)}`;
const meta = { $metadata: {} };

beforeEach(() => {
  ecrMock.reset();
});

describe('ecrLogin', () => {
  test('decodes user:password from the token; the endpoint is the proxy endpoint', async () => {
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:pa:ss').toString('base64'),
          proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
        },
      ],
    });
    expect(await ecrLogin(ecr, '123456789012')).toMatchObject({
      username: 'AWS',
      password: 'pa:ss',
      proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
    });
    expect(ecrMock.commandCalls(GetAuthorizationTokenCommand)[0]!.args[0].input).toEqual({
      registryIds: ['123456789012'],
    });
  });

  test('no data or a malformed token fails clearly', async () => {
    ecrMock.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [] });
    await expect(ecrLogin(ecr)).rejects.toThrow(/returned no authorization data/);
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        { authorizationToken: Buffer.from('nocolon').toString('base64'), proxyEndpoint: 'https://x' },
      ],
    });
    await expect(ecrLogin(ecr)).rejects.toThrow(/not user:password/);
  });
});

test('checkRepositories names every missing repository', async () => {
  ecrMock.on(DescribeRepositoriesCommand).callsFake((input: { repositoryNames: string[] }) => {
    if (input.repositoryNames[0] === 'web') return { repositories: [{ repositoryName: 'web' }] };
    throw new RepositoryNotFoundException({ message: 'nope', ...meta });
  });
  await expect(checkRepositories(ecr, ['web', 'api', 'auth'])).rejects.toThrow(
    /ECR repositories api, auth not found/,
  );
  await expect(checkRepositories(ecr, ['web'])).resolves.toBeInstanceOf(Map);
});

test('ecrLookup: digest and size of a tag, undefined when the tag is not there', async () => {
  ecrMock
    .on(DescribeImagesCommand, { repositoryName: 'web', imageIds: [{ imageTag: 'v1' }] })
    .resolves({ imageDetails: [{ imageDigest: DIGEST, imageSizeInBytes: 42, imageManifestMediaType: 'm' }] })
    .on(DescribeImagesCommand, { repositoryName: 'web', imageIds: [{ imageTag: 'v2' }] })
    .rejects(new ImageNotFoundException({ message: 'no', ...meta }));
  expect(await ecrLookup(ecr, 'web', 'v1')).toEqual({ digest: DIGEST, sizeBytes: 42, mediaType: 'm' });
  expect(await ecrLookup(ecr, 'web', 'v2')).toBeUndefined();
});

describe('awaitScan', () => {
  const base = {
    repository: 'web',
    digest: DIGEST,
    timeoutMs: 5000,
    pollMs: { min: 1, max: 2 },
    // Polls and the timeout go by a fake clock: no real waiting.
    clock: manualClock(),
  };

  test('waits through no-scan-yet and IN_PROGRESS, then returns the findings at or above the threshold', async () => {
    ecrMock
      .on(DescribeImageScanFindingsCommand)
      .rejectsOnce(new ScanNotFoundException({ message: 'not yet', ...meta }))
      .resolvesOnce({ imageScanStatus: { status: 'IN_PROGRESS' } })
      .resolves({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: {
          findingSeverityCounts: { CRITICAL: 1, HIGH: 1, LOW: 1 },
          findings: [
            { name: 'CVE-1', severity: 'CRITICAL' },
            { name: 'CVE-2', severity: 'HIGH' },
            { name: 'CVE-3', severity: 'LOW' },
            { name: 'CVE-4', severity: 'UNDEFINED' },
          ],
        },
      });
    const log = memoryLog();
    const result = await awaitScan(ecr, { ...base, threshold: 'HIGH', log });
    expect(result.blocking.map((f) => f.name)).toEqual(['CVE-1', 'CVE-2']);
    expect(result.counts).toEqual({ CRITICAL: 1, HIGH: 1, LOW: 1 });
    expect(log.lines.filter((l) => l.includes('scan '))).toEqual([
      `web@${DIGEST.slice(0, 19)}: scan NOT_STARTED`,
      `web@${DIGEST.slice(0, 19)}: scan IN_PROGRESS`,
      `web@${DIGEST.slice(0, 19)}: scan COMPLETE`,
    ]);
  });

  test('follows nextToken for all findings', async () => {
    ecrMock
      .on(DescribeImageScanFindingsCommand)
      .resolvesOnce({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: { findings: [{ name: 'A', severity: 'CRITICAL' }] },
        nextToken: 't',
      })
      .resolves({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: { findings: [{ name: 'B', severity: 'CRITICAL' }] },
      });
    const result = await awaitScan(ecr, { ...base, threshold: 'CRITICAL', log: memoryLog() });
    expect(result.blocking.map((f) => f.name)).toEqual(['A', 'B']);
  });

  test('a scan that fails, or never completes, fails the gate', async () => {
    ecrMock
      .on(DescribeImageScanFindingsCommand)
      .resolves({ imageScanStatus: { status: 'UNSUPPORTED_IMAGE', description: 'no OS' } });
    await expect(awaitScan(ecr, { ...base, threshold: 'HIGH', log: memoryLog() })).rejects.toThrow(
      /scan of sha256:9+ ended UNSUPPORTED_IMAGE: no OS; the scan gate cannot pass/,
    );
    ecrMock
      .on(DescribeImageScanFindingsCommand)
      .rejects(new ScanNotFoundException({ message: 'x', ...meta }));
    await expect(
      awaitScan(ecr, { ...base, timeoutMs: 20, threshold: 'HIGH', log: memoryLog() }),
    ).rejects.toThrow(/no completed ECR scan of sha256:9+ after/);
  });
});

test('severity ranks', () => {
  expect(severityRank('CRITICAL')).toBeGreaterThan(severityRank('HIGH'));
  expect(severityRank('INFORMATIONAL')).toBe(0);
  expect(severityRank('UNDEFINED')).toBe(-1);
});
