/**
 * Systems Manager Parameter Store (JSON 1.1, X-Amz-Target AmazonSSM.*):
 * GetParameter, GetParameters, GetParametersByPath, PutParameter,
 * DeleteParameter, as the API reference describes them
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html,
 * API_GetParameter.html, API_GetParameters.html, API_GetParametersByPath.html,
 * API_DeleteParameter.html). A release gate lives here: a pipeline writes it,
 * a deployment lifecycle hook reads it.
 *
 * Names follow PutParameter's naming constraints: case sensitive; only
 * a-zA-Z0-9_.- and "/" between hierarchy levels; a name with a "/" is fully
 * qualified (leading "/"); no "aws" or "ssm" prefix (case-insensitive); at most
 * 15 levels; at most 1011 characters (2048 less the 1037 AWS reserves).
 * Every PutParameter makes a new version (1, 2, …; AWS keeps the last 100);
 * `name:version` selects one. SecureString values come back as an opaque
 * ciphertext unless WithDecryption (KMS itself is not modelled: no key policy
 * is checked). Not modelled: labels, policies, tags, DescribeParameters and
 * ParameterFilters (refused, so nothing is silently ignored).
 */
import { createHash } from 'node:crypto';
import type { SsmParameterSpec } from '../scenario.js';
import { AwsError, type SimContext, type SimService } from '../service.js';

type Params = Record<string, unknown>;

type ParameterType = 'String' | 'StringList' | 'SecureString';
const TYPES: readonly ParameterType[] = ['SecureString', 'StringList', 'String'];

interface ParameterVersion {
  version: number;
  type: ParameterType;
  value: string;
  description?: string;
  dataType: string;
  tier: 'Standard' | 'Advanced';
  lastModified: Date;
}

interface ParameterRecord {
  name: string;
  /** Oldest first; the last is current. */
  versions: ParameterVersion[];
}

/** https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-quotas (AWS General Reference, ssm.html). */
const MAX_VERSIONS = 100;
const MAX_LEVELS = 15;
const MAX_NAME_LENGTH = 1011;
const MAX_VALUE = { Standard: 4096, Advanced: 8192 } as const;
const MAX_NAMES_PER_GET = 10;

const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

const validation = (message: string) => new AwsError('ValidationException', message);
const constraint = (value: unknown, member: string, rule: string) =>
  validation(
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${rule}`,
  );

export class SsmService implements SimService {
  readonly name = 'ssm';
  readonly jsonTargetPrefix = 'AmazonSSM';
  readonly mutating = new Set(['PutParameter', 'DeleteParameter']);
  private readonly parameters = new Map<string, ParameterRecord>();

  constructor(private readonly ctx: SimContext) {
    // The world has a past: parameters of the scenario were written before the load.
    const writtenAt = new Date(ctx.now() - (ctx.scenario.historyMs ?? 24 * 3600 * 1000));
    for (const spec of ctx.scenario.ssmParameters ?? []) this.load(spec, writtenAt);
  }

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'GetParameter':
        return this.getParameter(params);
      case 'GetParameters':
        return this.getParameters(params);
      case 'GetParametersByPath':
        return this.getParametersByPath(params);
      case 'PutParameter':
        return this.putParameter(params);
      case 'DeleteParameter':
        return this.deleteParameter(params);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this simulator.`,
        );
    }
  }

  /** The parameter's ARN: the name without its leading slash after "parameter/". */
  arn(name: string): string {
    return `arn:aws:ssm:${this.ctx.region}:${this.ctx.accountId}:parameter/${name.replace(/^\//, '')}`;
  }

  private load(spec: SsmParameterSpec, writtenAt: Date): void {
    const name = checkName(spec.name, 'scenario ssmParameters');
    const type = spec.type ?? 'String';
    if (!TYPES.includes(type))
      throw new Error(`ssmParameters ${name}: type ${String(type)} is not one of ${TYPES.join(', ')}`);
    this.parameters.set(name, {
      name,
      versions: [
        {
          version: 1,
          type,
          value: spec.value,
          ...(spec.description ? { description: spec.description } : {}),
          dataType: 'text',
          tier: spec.tier ?? 'Standard',
          lastModified: writtenAt,
        },
      ],
    });
  }

  // ------------------------------------------------------------------ reads

  /** https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html */
  private getParameter(params: Params): Params {
    const ref = requiredString(params.Name, 'name');
    const found = this.select(ref);
    return {
      Parameter: this.shape(found.record, found.version, params.WithDecryption === true, found.selector),
    };
  }

  /** Up to 10 names; those not found are InvalidParameters, not an error. */
  private getParameters(params: Params): Params {
    const names = params.Names;
    if (!Array.isArray(names) || names.length < 1 || names.length > MAX_NAMES_PER_GET) {
      throw constraint(
        JSON.stringify(names ?? null),
        'names',
        `Member must have length between 1 and ${MAX_NAMES_PER_GET}`,
      );
    }
    const parameters: Params[] = [];
    const invalid: string[] = [];
    for (const ref of new Set(names.map((n) => requiredString(n, 'names')))) {
      try {
        const found = this.select(ref);
        parameters.push(
          this.shape(found.record, found.version, params.WithDecryption === true, found.selector),
        );
      } catch (err) {
        if (
          err instanceof AwsError &&
          (err.code === 'ParameterNotFound' || err.code === 'ParameterVersionNotFound')
        )
          invalid.push(ref);
        else throw err;
      }
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  }

  /**
   * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html:
   * the parameters under a path (its direct children, or every level with
   * Recursive), at most MaxResults (1-10) a page, in name order.
   */
  private getParametersByPath(params: Params): Params {
    const path = requiredString(params.Path, 'path');
    if (params.ParameterFilters !== undefined)
      throw validation('ParameterFilters are not modelled by this simulator.');
    if (path !== '/')
      checkName(path.replace(/\/$/, ''), 'path', { allowReservedPrefix: true, requireQualified: true });
    const levels = path.split('/').filter(Boolean).length;
    if (levels > MAX_LEVELS) throw hierarchyTooDeep();
    const maxResults = params.MaxResults === undefined ? 10 : Number(params.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
      throw constraint(params.MaxResults, 'maxResults', 'Member must have value between 1 and 10');
    }
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const under = [...this.parameters.values()]
      .filter((p) => p.name.startsWith(prefix))
      .filter((p) => params.Recursive === true || !p.name.slice(prefix.length).includes('/'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let start = 0;
    if (params.NextToken !== undefined) {
      const match = /^p\/(\d+)$/.exec(String(params.NextToken));
      if (!match) throw new AwsError('InvalidNextToken', 'The specified token is not valid.');
      start = Number(match[1]);
    }
    const page = under.slice(start, start + maxResults);
    const next = start + maxResults < under.length ? `p/${start + maxResults}` : undefined;
    return {
      Parameters: page.map((p) => this.shape(p, current(p), params.WithDecryption === true)),
      ...(next ? { NextToken: next } : {}),
    };
  }

  /** A name, an ARN of this account and Region, or either with ":version". */
  private select(ref: string): { record: ParameterRecord; version: ParameterVersion; selector?: string } {
    const arnPrefix = `arn:aws:ssm:${this.ctx.region}:${this.ctx.accountId}:parameter`;
    let nameAndSelector = ref;
    if (ref.startsWith('arn:')) {
      if (!ref.startsWith(`${arnPrefix}/`))
        throw new AwsError('ParameterNotFound', `Parameter ${ref} not found.`);
      const rest = ref.slice(arnPrefix.length + 1);
      // A hierarchical parameter's ARN drops its leading slash; a plain name has none.
      nameAndSelector = this.parameters.has(rest.split(':')[0]!) ? rest : `/${rest}`;
    }
    const colon = nameAndSelector.indexOf(':');
    const name = colon < 0 ? nameAndSelector : nameAndSelector.slice(0, colon);
    const selector = colon < 0 ? undefined : nameAndSelector.slice(colon + 1);
    checkName(name, 'name', { allowReservedPrefix: true });
    const record = this.parameters.get(name);
    if (!record) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
    if (selector === undefined) return { record, version: current(record) };
    if (!/^\d+$/.test(selector)) {
      throw validation(`Parameter labels are not modelled by this simulator (selector :${selector}).`);
    }
    const version = record.versions.find((v) => v.version === Number(selector));
    if (!version) {
      throw new AwsError(
        'ParameterVersionNotFound',
        `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`,
      );
    }
    return { record, version, selector: `:${selector}` };
  }

  /** The Parameter shape (API_Parameter.html). */
  private shape(
    record: ParameterRecord,
    version: ParameterVersion,
    decrypt: boolean,
    selector?: string,
  ): Params {
    const value =
      version.type === 'SecureString' && !decrypt ? ciphertext(record.name, version) : version.value;
    return {
      Name: record.name,
      Type: version.type,
      Value: value,
      Version: version.version,
      ...(selector ? { Selector: selector } : {}),
      LastModifiedDate: version.lastModified,
      ARN: this.arn(record.name),
      DataType: version.dataType,
    };
  }

  // ------------------------------------------------------------------ writes

  /** https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html */
  private putParameter(params: Params): Params {
    const rawName = requiredString(params.Name, 'name');
    if (rawName.startsWith('arn:')) throw validation(NAME_RULES);
    // The service removes spaces at either end of a name; one inside it is refused.
    const name = checkName(rawName.trim(), 'name');
    if (typeof params.Value !== 'string')
      throw validation(
        "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null",
      );
    const value = params.Value;
    if (params.Type !== undefined && !TYPES.includes(params.Type as ParameterType)) {
      throw constraint(params.Type, 'type', `Member must satisfy enum value set: [${TYPES.join(', ')}]`);
    }
    for (const unmodelled of ['Tags', 'Policies'] as const) {
      if (params[unmodelled] !== undefined)
        throw validation(`${unmodelled} are not modelled by this simulator's Parameter Store.`);
    }
    const dataType = (params.DataType as string | undefined) ?? 'text';
    if (dataType !== 'text') {
      throw validation(`The data type ${dataType} is not modelled by this simulator (only text).`);
    }
    const existing = this.parameters.get(name);
    if (existing && params.Overwrite !== true) {
      throw new AwsError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const previous = existing ? current(existing) : undefined;
    const type = (params.Type as ParameterType | undefined) ?? previous?.type;
    if (!type) throw validation('A parameter type is required when you create a parameter.');
    if (previous && previous.type !== type && (previous.type === 'SecureString' || type === 'SecureString')) {
      throw new AwsError(
        'HierarchyTypeMismatchException',
        `Parameter Store does not support changing a parameter type in a hierarchy: ${name} is a ${previous.type}, not a ${type}. Create a new, unique parameter.`,
      );
    }
    const tier = tierOf(params.Tier, previous?.tier);
    if (value.length > MAX_VALUE[tier]) {
      throw validation(
        tier === 'Standard'
          ? 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.'
          : 'Advanced tier parameters support a maximum parameter value of 8192 characters.',
      );
    }
    if (value.length === 0)
      throw constraint('', 'value', 'Member must have length greater than or equal to 1');
    if (typeof params.AllowedPattern === 'string' && !new RegExp(params.AllowedPattern).test(value)) {
      throw new AwsError(
        'ParameterPatternMismatchException',
        `Parameter value, cannot be validated against allowedPattern: ${params.AllowedPattern}`,
      );
    }
    const description = (params.Description as string | undefined) ?? previous?.description;
    const next: ParameterVersion = {
      version: (previous?.version ?? 0) + 1,
      type,
      value,
      ...(description ? { description } : {}),
      dataType,
      tier,
      lastModified: new Date(this.ctx.now()),
    };
    const record = existing ?? { name, versions: [] };
    record.versions.push(next);
    // AWS keeps the last 100 versions, deleting the oldest (unlabelled) one.
    if (record.versions.length > MAX_VERSIONS) record.versions.shift();
    this.parameters.set(name, record);
    this.ctx.event('ssm.parameter.put', { name, version: next.version, type });
    return { Version: next.version, Tier: tier };
  }

  /** https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html */
  private deleteParameter(params: Params): Params {
    const name = requiredString(params.Name, 'name');
    checkName(name, 'name', { allowReservedPrefix: true });
    if (!this.parameters.delete(name))
      throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
    this.ctx.event('ssm.parameter.deleted', { name });
    return {};
  }
}

const current = (record: ParameterRecord): ParameterVersion => record.versions[record.versions.length - 1]!;

function requiredString(value: unknown, member: string): string {
  if (typeof value !== 'string' || value === '') {
    throw constraint(value ?? 'null', member, 'Member must have length greater than or equal to 1');
  }
  return value;
}

const hierarchyTooDeep = () =>
  new AwsError(
    'HierarchyLevelLimitExceededException',
    `A hierarchy can have a maximum of ${MAX_LEVELS} levels.`,
  );

/**
 * The naming constraints (PutParameter's Name). Reads may name AWS's public
 * parameters (/aws/service/…), so they skip the reserved-prefix rule.
 */
function checkName(
  name: string,
  member: string,
  options: { allowReservedPrefix?: boolean; requireQualified?: boolean } = {},
): string {
  if (name.length > MAX_NAME_LENGTH) {
    throw constraint(name, member, `Member must have length less than or equal to ${MAX_NAME_LENGTH}`);
  }
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) throw validation(NAME_RULES);
  if ((name.includes('/') || options.requireQualified) && !name.startsWith('/')) {
    throw validation('Parameter name must be a fully qualified name.');
  }
  const levels = name.split('/').slice(name.startsWith('/') ? 1 : 0);
  if (levels.some((level) => level === '')) throw validation(NAME_RULES);
  if (!options.allowReservedPrefix && /^(aws|ssm)/i.test(levels[0]!)) throw validation(NAME_RULES);
  if (levels.length > MAX_LEVELS) throw hierarchyTooDeep();
  return name;
}

function tierOf(requested: unknown, previous: 'Standard' | 'Advanced' | undefined): 'Standard' | 'Advanced' {
  if (requested === undefined) return previous ?? 'Standard';
  if (requested === 'Standard' || requested === 'Advanced') {
    // An advanced parameter can't be made standard again.
    if (previous === 'Advanced' && requested === 'Standard') {
      throw validation(
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier.",
      );
    }
    return requested;
  }
  // Intelligent-Tiering picks Standard for a value that fits it.
  if (requested === 'Intelligent-Tiering') return previous ?? 'Standard';
  throw constraint(
    requested,
    'tier',
    'Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]',
  );
}

/** What a SecureString reads as without WithDecryption: opaque, stable per version, never the value. */
function ciphertext(name: string, version: ParameterVersion): string {
  const digest = createHash('sha256').update(`${name}\0${version.version}\0${version.value}`).digest();
  return `AQICAH${digest.toString('base64')}`;
}
