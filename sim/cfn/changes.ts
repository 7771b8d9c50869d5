/**
 * What a change set reports: the resource changes between the deployed
 * template and the submitted one, as DescribeChangeSet's ResourceChange
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html),
 * and the capabilities a template needs (CreateChangeSet's Capabilities).
 *
 * Replacement follows each property's "Update requires" in the CloudFormation
 * resource reference for the types the simulator models (REPLACING below);
 * for a type it does not know, a changed property is Conditional. A resource
 * whose Ref or Fn::GetAtt points at a replaced resource, or at a parameter
 * whose value changed, is modified too (Evaluation Dynamic), as CloudFormation
 * reports it: a task definition replaced by a new revision modifies the
 * service that names it.
 */
import type { CfnResource, CfnTemplate } from '../assembly/manifest.js';

export type Replacement = 'True' | 'False' | 'Conditional';

export interface ResourceChangeDetail {
  Target: { Attribute: string; Name?: string; RequiresRecreation: 'Never' | 'Conditionally' | 'Always' };
  Evaluation: 'Static' | 'Dynamic';
  ChangeSource: 'ResourceReference' | 'ParameterReference' | 'DirectModification';
  CausingEntity?: string;
}

export interface ResourceChange {
  Action: 'Add' | 'Modify' | 'Remove';
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType: string;
  Replacement?: Replacement;
  Scope: string[];
  Details: ResourceChangeDetail[];
}

/** Properties whose change replaces the resource ("Update requires: Replacement"), per modelled type. */
const REPLACING: Record<string, string[]> = {
  'AWS::ElasticLoadBalancingV2::TargetGroup': [
    'Name',
    'Port',
    'Protocol',
    'ProtocolVersion',
    'TargetType',
    'VpcId',
    'IpAddressType',
  ],
  'AWS::ElasticLoadBalancingV2::LoadBalancer': ['Name', 'Scheme', 'Type'],
  'AWS::ElasticLoadBalancingV2::Listener': ['LoadBalancerArn'],
  'AWS::ElasticLoadBalancingV2::ListenerRule': ['ListenerArn'],
  'AWS::ECS::Cluster': ['ClusterName'],
  'AWS::ECS::Service': ['Cluster', 'ServiceName', 'LaunchType', 'Role', 'SchedulingStrategy'],
  'AWS::IAM::Role': ['RoleName', 'Path'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName', 'Path', 'Description'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::ECR::Repository': ['RepositoryName'],
  'AWS::EC2::VPC': ['CidrBlock'],
  'AWS::EC2::Subnet': ['VpcId', 'CidrBlock', 'AvailabilityZone'],
  'AWS::EC2::SecurityGroup': ['GroupName', 'GroupDescription', 'VpcId'],
};
/** Types every property of which replaces the resource (a task definition is immutable: a change is a new revision). */
const ALWAYS_REPLACED = new Set(['AWS::ECS::TaskDefinition']);
/** Types whose properties all update in place. */
const NEVER_REPLACED = new Set(['AWS::IAM::Policy', 'AWS::CloudFormation::Stack']);

function requiresRecreation(type: string, property: string): 'Never' | 'Conditionally' | 'Always' {
  if (ALWAYS_REPLACED.has(type)) return 'Always';
  if (NEVER_REPLACED.has(type)) return 'Never';
  const replacing = REPLACING[type];
  if (!replacing) return 'Conditionally';
  return replacing.includes(property) ? 'Always' : 'Never';
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Logical ids and parameters a value refers to (Ref, Fn::GetAtt, and ${X} / ${X.Attr} in Fn::Sub). */
export function referencesOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencesOf(v, out);
  } else if (value && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Ref' && typeof arg === 'string') out.add(arg);
      else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
        if (typeof target === 'string') out.add(target);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(arg) ? arg[0] : arg;
        if (typeof text === 'string')
          for (const m of text.matchAll(/\$\{([^!}][^}.]*)(?:\.[^}]*)?\}/g)) out.add(m[1]);
        if (Array.isArray(arg)) referencesOf(arg[1], out);
      } else referencesOf(arg, out);
    }
  }
  return out;
}

/**
 * The resource changes from `before` (undefined: a new stack) to `after`.
 * `physicalIds` gives the deployed resources' physical ids; `changedParameters`
 * the parameters whose values differ.
 */
export function resourceChanges(
  before: CfnTemplate | undefined,
  after: CfnTemplate,
  physicalIds: (logicalId: string) => string | undefined,
  changedParameters: Set<string>,
): ResourceChange[] {
  const old = before?.Resources ?? {};
  const next = after.Resources ?? {};
  const changes = new Map<string, ResourceChange>();
  for (const [id, resource] of Object.entries(next)) {
    const previous = old[id];
    if (!previous || previous.Type !== resource.Type) {
      changes.set(id, {
        Action: 'Add',
        LogicalResourceId: id,
        ResourceType: resource.Type,
        Scope: [],
        Details: [],
      });
      continue;
    }
    const change = directChange(id, previous, resource, physicalIds(id));
    if (change) changes.set(id, change);
  }
  // References: a replaced resource or a changed parameter modifies whoever names it, transitively.
  for (let grew = true; grew;) {
    grew = false;
    const causes = new Set([
      ...changedParameters,
      ...[...changes.values()]
        .filter((c) => c.Action === 'Modify' && c.Replacement === 'True')
        .map((c) => c.LogicalResourceId),
    ]);
    for (const [id, resource] of Object.entries(next)) {
      if (!old[id] || old[id].Type !== resource.Type) continue;
      for (const [property, value] of Object.entries(resource.Properties ?? {})) {
        for (const cause of referencesOf(value)) {
          if (!causes.has(cause) || cause === id) continue;
          let change = changes.get(id);
          if (!change) {
            change = {
              Action: 'Modify',
              LogicalResourceId: id,
              PhysicalResourceId: physicalIds(id),
              ResourceType: resource.Type,
              Replacement: 'False',
              Scope: [],
              Details: [],
            };
            changes.set(id, change);
          }
          if (change.Details.some((d) => d.Target.Name === property && d.CausingEntity === cause)) continue;
          change.Details.push({
            Target: {
              Attribute: 'Properties',
              Name: property,
              RequiresRecreation: requiresRecreation(resource.Type, property),
            },
            Evaluation: 'Dynamic',
            ChangeSource: changedParameters.has(cause) ? 'ParameterReference' : 'ResourceReference',
            CausingEntity: cause,
          });
          if (!change.Scope.includes('Properties')) change.Scope.push('Properties');
          change.Replacement = replacementOf(change.Details);
          grew = true;
        }
      }
    }
  }
  for (const [id, resource] of Object.entries(old)) {
    if (next[id] && next[id].Type === resource.Type) continue;
    changes.set(`${id}#removed`, {
      Action: 'Remove',
      LogicalResourceId: id,
      PhysicalResourceId: physicalIds(id),
      ResourceType: resource.Type,
      Scope: [],
      Details: [],
    });
  }
  return [...changes.values()];
}

function replacementOf(details: ResourceChangeDetail[]): Replacement {
  if (details.some((d) => d.Target.RequiresRecreation === 'Always')) return 'True';
  if (details.some((d) => d.Target.RequiresRecreation === 'Conditionally')) return 'Conditional';
  return 'False';
}

/** A resource changed in the template itself: which attributes and properties. */
function directChange(
  id: string,
  previous: CfnResource,
  resource: CfnResource,
  physicalId: string | undefined,
): ResourceChange | undefined {
  const scope: string[] = [];
  const details: ResourceChangeDetail[] = [];
  const oldProps = previous.Properties ?? {};
  const newProps = resource.Properties ?? {};
  for (const name of new Set([...Object.keys(oldProps), ...Object.keys(newProps)])) {
    if (same(oldProps[name], newProps[name])) continue;
    const tags = name === 'Tags';
    if (!scope.includes(tags ? 'Tags' : 'Properties')) scope.push(tags ? 'Tags' : 'Properties');
    details.push({
      Target: {
        Attribute: tags ? 'Tags' : 'Properties',
        Name: name,
        RequiresRecreation: requiresRecreation(resource.Type, name),
      },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification',
    });
  }
  for (const attribute of [
    'Metadata',
    'DeletionPolicy',
    'UpdateReplacePolicy',
    'UpdatePolicy',
    'CreationPolicy',
  ] as const) {
    const a = (previous as unknown as Record<string, unknown>)[attribute];
    const b = (resource as unknown as Record<string, unknown>)[attribute];
    if (same(a, b)) continue;
    // CloudFormation ignores metadata-only changes when it plans an update; they show with no property change.
    scope.push(attribute);
    details.push({
      Target: { Attribute: attribute, RequiresRecreation: 'Never' },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification',
    });
  }
  if (!details.length) return undefined;
  return {
    Action: 'Modify',
    LogicalResourceId: id,
    PhysicalResourceId: physicalId,
    ResourceType: resource.Type,
    Replacement: replacementOf(details),
    Scope: scope,
    Details: details,
  };
}

/** IAM resource types that need CAPABILITY_IAM (or CAPABILITY_NAMED_IAM when named). */
const IAM_TYPES: Record<string, string | undefined> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::Policy': undefined,
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::AccessKey': undefined,
  'AWS::IAM::UserToGroupAddition': undefined,
};

/** The capability the template needs to be deployed, if any. */
export function requiredCapability(
  template: CfnTemplate,
): 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | undefined {
  let needed: 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | undefined;
  for (const resource of Object.values(template.Resources ?? {})) {
    if (!(resource.Type in IAM_TYPES)) continue;
    const nameProperty = IAM_TYPES[resource.Type];
    if (nameProperty && resource.Properties?.[nameProperty] !== undefined) return 'CAPABILITY_NAMED_IAM';
    needed = 'CAPABILITY_IAM';
  }
  return needed;
}
