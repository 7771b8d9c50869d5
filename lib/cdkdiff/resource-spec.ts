/**
 * Which property changes replace a resource, for the bundled action.
 *
 * @aws-cdk/cloudformation-diff learns that (and which properties hold IAM
 * policies or security-group rules) from @aws-cdk/aws-service-spec, which
 * reads a 2.6 MB `db.json.gz` at `${__dirname}/../db.json.gz`. In the ESM
 * bundle `__dirname` does not exist and ncc does not ship the file. So the
 * facts the diff uses are kept in resource-spec.tsv (generated from the
 * installed database; a unit test fails when it is stale), written back in
 * the database's own format to a temporary directory, and the global
 * `__dirname` points the library there. Outside a bundle the library keeps
 * its own `__dirname` and reads its full database (unit tests use that).
 *
 * resource-spec.tsv, one resource type per line:
 *   TYPE <tab> RESOURCE-SCRUTINY <tab> PROP[!|?][=SCRUTINY] <space> ...
 * where "!" means a change replaces the resource and "?" that it may.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

interface PropertyModel {
  causesReplacement?: 'yes' | 'maybe' | 'no';
  scrutinizable?: string;
}

interface ResourceModel {
  cloudFormationType: string;
  scrutinizable?: string;
  properties?: Record<string, PropertyModel>;
}

/** The database's serialized form, reduced to resources. */
interface SerializedDatabase {
  idCtr: number;
  schema: { resource: { type: 'entities'; entities: Record<string, ResourceModel & { $id: string }> } };
}

/** Full database (db.json) -> the TSV lines this module reads. */
export function encodeResourceSpec(database: {
  schema: { resource: { entities: Record<string, ResourceModel> } };
}): string {
  const lines = Object.values(database.schema.resource.entities)
    .map((resource) => {
      const properties = Object.entries(resource.properties ?? {}).map(([name, p]) => {
        const replacement = p.causesReplacement === 'yes' ? '!' : p.causesReplacement === 'maybe' ? '?' : '';
        const scrutiny = p.scrutinizable && p.scrutinizable !== 'None' ? `=${p.scrutinizable}` : '';
        return `${name}${replacement}${scrutiny}`;
      });
      return `${resource.cloudFormationType}\t${resource.scrutinizable ?? ''}\t${properties.join(' ')}`;
    })
    .sort();
  return lines.join('\n') + '\n';
}

export function decodeResourceSpec(tsv: string): SerializedDatabase {
  const entities: SerializedDatabase['schema']['resource']['entities'] = {};
  let id = 0;
  for (const line of tsv.split('\n')) {
    if (!line.trim()) continue;
    const [cloudFormationType = '', scrutinizable = '', props = ''] = line.split('\t');
    const properties: Record<string, PropertyModel> = {};
    for (const token of props.split(' ').filter(Boolean)) {
      const match = /^([^!?=]+)([!?]?)(?:=(.+))?$/.exec(token);
      if (!match) continue;
      const [, name, flag, scrutiny] = match;
      properties[name!] = {
        ...(flag === '!'
          ? { causesReplacement: 'yes' as const }
          : flag === '?'
            ? { causesReplacement: 'maybe' as const }
            : {}),
        ...(scrutiny ? { scrutinizable: scrutiny } : {}),
      };
    }
    const $id = String(id++);
    entities[$id] = { $id, cloudFormationType, ...(scrutinizable ? { scrutinizable } : {}), properties };
  }
  return { idCtr: id, schema: { resource: { type: 'entities', entities } } };
}

let installed = false;

/** Makes the library's `${__dirname}/../db.json.gz` exist, built from resource-spec.tsv. */
export function installResourceSpec(): void {
  if (installed) return;
  installed = true;
  // ncc copies a file referenced this way next to the bundle, and the expression becomes its path.
  const location = new URL('./resource-spec.tsv', import.meta.url) as URL | string;
  // Not bundled: the library has its own __dirname and reads its full database.
  if (typeof location !== 'string') return;
  const global = globalThis as { __dirname?: string };
  if (global.__dirname !== undefined) return;
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'cdk-diff-spec-'));
  const spec = decodeResourceSpec(readFileSync(location, 'utf8'));
  writeFileSync(join(dir, 'db.json.gz'), gzipSync(JSON.stringify(spec)));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  global.__dirname = join(dir, 'lib');
}
