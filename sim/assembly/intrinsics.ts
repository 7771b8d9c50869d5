/**
 * CloudFormation's intrinsic functions, resolved deterministically against
 * the physical ids the simulator assigns (physical-ids.ts): Ref (resources,
 * parameters, pseudo parameters), Fn::GetAtt, Fn::ImportValue, Fn::Join,
 * Fn::Sub (both forms), Fn::Select, Fn::Split, Fn::GetAZs, Fn::If and the
 * condition functions, Fn::FindInMap, Fn::Base64, Fn::Cidr, Fn::ToJsonString, Fn::Length.
 * `AWS::NoValue` removes the property or list element that holds it.
 *
 * Reference: Intrinsic function reference and Pseudo parameters reference in
 * the CloudFormation User Guide.
 */
import type { AssemblyStack, CfnResource } from './manifest.js';
import { genericAttr, genericRef, TYPE_RULES, type ResourceContext } from './physical-ids.js';

/** What one stack's resolution needs from the rest of the world. */
export interface WorldLinks {
  /** The value of another stack's export (Fn::ImportValue); throws when no stack exports it. */
  importValue(name: string, from: string): unknown;
  /** The revision a task definition resource gets (family order across the assembly). */
  revision(stackName: string, logicalId: string, family: string): number;
}

export interface StackEnvironment {
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  readonly urlSuffix: string;
  /** What Fn::GetAZs answers for the region. */
  readonly availabilityZones: readonly string[];
  /** Parameter values given for this load (else each parameter's Default). */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export class IntrinsicError extends Error {}

const NO_VALUE = Symbol('AWS::NoValue');

export class StackResolver {
  private readonly resources: Record<string, CfnResource>;
  private readonly refs = new Map<string, string>();
  private readonly resolving = new Set<string>();

  constructor(
    readonly stack: AssemblyStack,
    readonly env: StackEnvironment,
    private readonly links: WorldLinks,
  ) {
    this.resources = stack.template.Resources ?? {};
  }

  get stackName(): string {
    return this.stack.stackName;
  }

  /** Logical ids of the resources the stack creates (a resource whose Condition is false is not created). */
  logicalIds(): string[] {
    return Object.keys(this.resources).filter((id) => this.exists(id));
  }

  resource(logicalId: string): CfnResource {
    const resource = this.resources[logicalId];
    if (!resource) throw new IntrinsicError(`${this.where()}: no resource "${logicalId}"`);
    return resource;
  }

  exists(logicalId: string): boolean {
    const condition = this.resources[logicalId]?.Condition;
    return condition === undefined || this.condition(condition);
  }

  /** A resource's properties with every intrinsic resolved. */
  properties(logicalId: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(this.resource(logicalId).Properties ?? {})) {
      const resolved = this.walk(value, `${logicalId}.${name}`);
      if (resolved !== NO_VALUE) out[name] = resolved;
    }
    return out;
  }

  /** The stack's Outputs that exist, resolved: name -> value and export name. */
  outputs(): { name: string; value: unknown; exportName?: string }[] {
    return Object.entries(this.stack.template.Outputs ?? {})
      .filter(([, output]) => output.Condition === undefined || this.condition(output.Condition))
      .map(([name, output]) => ({
        name,
        value: this.resolve(output.Value, `Outputs.${name}`),
        exportName: output.Export ? String(this.resolve(output.Export.Name, `Outputs.${name}`)) : undefined,
      }));
  }

  condition(name: string): boolean {
    const expression = this.stack.template.Conditions?.[name];
    if (expression === undefined) throw new IntrinsicError(`${this.where()}: no condition "${name}"`);
    return this.truth(expression, `Conditions.${name}`);
  }

  /** Resolves every intrinsic in `value`; `at` names where it sits, for errors. */
  resolve(value: unknown, at = ''): unknown {
    const out = this.walk(value, at);
    return out === NO_VALUE ? undefined : out;
  }

  ref(name: string, at = ''): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.account;
      case 'AWS::Partition':
        return this.env.partition;
      case 'AWS::URLSuffix':
        return this.env.urlSuffix;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:${this.env.partition}:cloudformation:${this.env.region}:${this.env.account}:stack/${this.stackName}/00000000-0000-4000-8000-${genericRef(this.context('Stack', 'AWS::CloudFormation::Stack')).slice(-12)}`;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = this.stack.template.Parameters?.[name];
    if (parameter) {
      const given = this.env.parameters?.[name] ?? parameter.Default;
      if (given === undefined)
        throw new IntrinsicError(`${this.where(at)}: parameter "${name}" has no value`);
      return parameter.Type?.startsWith('List<') || parameter.Type === 'CommaDelimitedList'
        ? String(given).split(',')
        : given;
    }
    if (!this.resources[name]) {
      throw new IntrinsicError(
        `${this.where(at)}: unresolvable Ref "${name}": no parameter, pseudo parameter or resource of that logical id`,
      );
    }
    return this.physicalRef(name);
  }

  getAtt(logicalId: string, attribute: string, at = ''): unknown {
    const resource = this.resources[logicalId];
    if (!resource)
      throw new IntrinsicError(
        `${this.where(at)}: unresolvable Fn::GetAtt "${logicalId}.${attribute}": no such resource`,
      );
    const ctx = this.context(logicalId, resource.Type);
    const rule = TYPE_RULES[resource.Type]?.attrs?.[attribute];
    return this.guarded(`${logicalId}.${attribute}`, () =>
      rule ? rule(ctx) : genericAttr(ctx, attribute, this.physicalRef(logicalId)),
    );
  }

  private physicalRef(logicalId: string): string {
    const known = this.refs.get(logicalId);
    if (known !== undefined) return known;
    const resource = this.resource(logicalId);
    const ctx = this.context(logicalId, resource.Type);
    const rule = TYPE_RULES[resource.Type];
    const ref = this.guarded(logicalId, () => (rule ? rule.ref(ctx) : genericRef(ctx)));
    this.refs.set(logicalId, ref);
    return ref;
  }

  private guarded<T>(key: string, compute: () => T): T {
    if (this.resolving.has(key))
      throw new IntrinsicError(`${this.where()}: circular reference through ${key}`);
    this.resolving.add(key);
    try {
      return compute();
    } finally {
      this.resolving.delete(key);
    }
  }

  private context(logicalId: string, type: string): ResourceContext {
    return {
      stackName: this.stackName,
      logicalId,
      type,
      region: this.env.region,
      account: this.env.account,
      partition: this.env.partition,
      urlSuffix: this.env.urlSuffix,
      prop: (name) => this.resolve(this.resources[logicalId]?.Properties?.[name], `${logicalId}.${name}`),
      revision: (family) => this.links.revision(this.stackName, logicalId, family),
    };
  }

  private where(at = ''): string {
    return `stack ${this.stackName}${at ? ` (${at})` : ''}`;
  }

  private walk(value: unknown, at: string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, at)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0];
      if (key === 'Ref' || key === 'Condition' || key.startsWith('Fn::')) return this.call(key, arg, at);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      const resolved = this.walk(v, at);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private str(value: unknown, at: string, fn: string): string {
    const resolved = this.walk(value, at);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new IntrinsicError(`${this.where(at)}: ${fn} needs a string, got ${JSON.stringify(resolved)}`);
  }

  private list(value: unknown, at: string, fn: string): unknown[] {
    const resolved = this.walk(value, at);
    if (!Array.isArray(resolved))
      throw new IntrinsicError(`${this.where(at)}: ${fn} needs a list, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private call(fn: string, arg: unknown, at: string): unknown {
    switch (fn) {
      case 'Ref':
        return this.ref(this.str(arg, at, 'Ref'), at);
      case 'Condition':
        return this.condition(this.str(arg, at, 'Condition'));
      case 'Fn::GetAtt': {
        const [logicalId, ...rest] =
          typeof arg === 'string' ? arg.split('.') : (this.list(arg, at, fn) as string[]);
        return this.getAtt(String(logicalId), rest.map(String).join('.'), at);
      }
      case 'Fn::ImportValue':
        return this.links.importValue(this.str(arg, at, fn), this.stackName);
      case 'Fn::Join': {
        const [separator, items] = this.list(arg, at, fn);
        return this.list(items, at, fn)
          .map((item) => this.str(item, at, fn))
          .join(String(separator));
      }
      case 'Fn::Split': {
        const [separator, source] = this.list(arg, at, fn);
        return this.str(source, at, fn).split(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = this.list(arg, at, fn);
        const list = this.list(items, at, fn);
        const i = Number(this.walk(index, at));
        if (!Number.isInteger(i) || i < 0 || i >= list.length)
          throw new IntrinsicError(
            `${this.where(at)}: Fn::Select index ${i} outside a list of ${list.length}`,
          );
        return list[i];
      }
      case 'Fn::Sub':
        return this.sub(arg, at);
      case 'Fn::GetAZs':
        return [...this.env.availabilityZones];
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return this.walk(this.condition(condition) ? whenTrue : whenFalse, at);
      }
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
        return this.truth({ [fn]: arg }, at);
      case 'Fn::FindInMap': {
        const [map, top, second] = this.list(arg, at, fn).map((v) => this.str(v, at, fn));
        const found = this.stack.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined)
          throw new IntrinsicError(`${this.where(at)}: Fn::FindInMap ${map}.${top}.${second} not found`);
        return this.walk(found, at);
      }
      case 'Fn::Base64':
        return Buffer.from(this.str(arg, at, fn)).toString('base64');
      case 'Fn::Length':
        return this.list(arg, at, fn).length;
      case 'Fn::ToJsonString':
        return JSON.stringify(this.walk(arg, at));
      case 'Fn::Cidr': {
        const [block, count, bits] = this.list(arg, at, fn);
        return cidrs(String(block), Number(count), Number(bits));
      }
      default:
        throw new IntrinsicError(`${this.where(at)}: intrinsic function ${fn} is not supported`);
    }
  }

  private truth(expression: unknown, at: string): boolean {
    if (typeof expression === 'boolean') return expression;
    if (expression === 'true' || expression === 'false') return expression === 'true';
    const [[fn, arg]] = Object.entries(expression as Record<string, unknown>);
    const args = Array.isArray(arg) ? arg : [arg];
    switch (fn) {
      case 'Fn::Equals':
        return JSON.stringify(this.walk(args[0], at)) === JSON.stringify(this.walk(args[1], at));
      case 'Fn::And':
        return args.every((a) => this.truth(a, at));
      case 'Fn::Or':
        return args.some((a) => this.truth(a, at));
      case 'Fn::Not':
        return !this.truth(args[0], at);
      case 'Condition':
        return this.condition(String(arg));
      default:
        throw new IntrinsicError(`${this.where(at)}: ${fn} is not a condition function`);
    }
  }

  /** Fn::Sub: "${Name}", "${Logical.Attribute}", "${!Literal}"; the [string, variables] form adds variables. */
  private sub(arg: unknown, at: string): string {
    const [text, variables] = Array.isArray(arg)
      ? [arg[0] as string, arg[1] as Record<string, unknown>]
      : [arg as string, {}];
    return String(text).replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (variables && name in variables) return this.str(variables[name], at, 'Fn::Sub');
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::'))
        return String(this.getAtt(name.slice(0, dot), name.slice(dot + 1), at));
      const value = this.ref(name, at);
      return Array.isArray(value) ? value.join(',') : String(value);
    });
  }
}

/** Fn::Cidr for IPv4: `count` blocks of `bits` host bits each, from the start of `block`. */
function cidrs(block: string, count: number, bits: number): string[] {
  const [address, prefix] = block.split('/');
  const base = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** bits;
  const newPrefix = 32 - bits;
  if (newPrefix < Number(prefix)) throw new IntrinsicError(`Fn::Cidr: ${bits} bits do not fit in ${block}`);
  return Array.from({ length: count }, (_, i) => {
    const n = base + i * size;
    return `${[24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')}/${newPrefix}`;
  });
}
