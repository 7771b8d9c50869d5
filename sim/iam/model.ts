/**
 * IAM as the simulator holds it: the roles, customer managed policies and
 * OIDC providers of the account, in the shapes CloudFormation gives them
 * (AWS::IAM::Role, AWS::IAM::Policy, AWS::IAM::ManagedPolicy,
 * AWS::IAM::OIDCProvider), with every intrinsic already resolved.
 */

/** An IAM policy document (JSON policy language), as written in a template. */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface RoleSpec {
  /** The role name, e.g. "alva-staging-github-deploy". */
  name: string;
  /** arn:aws:iam::ACCOUNT:role[/path]/NAME */
  arn: string;
  /** The trust policy (AssumeRolePolicyDocument). */
  trust: PolicyDocument;
  /** Inline policies and AWS::IAM::Policy resources attached to the role. */
  policies: { name: string; document: PolicyDocument }[];
  /** Managed policies attached (customer managed ones are in IamSpec.managedPolicies; AWS managed ones are named only). */
  managedPolicyArns?: string[];
  maxSessionDurationSeconds?: number;
}

export interface ManagedPolicySpec {
  name: string;
  arn: string;
  document: PolicyDocument;
}

export interface OidcProviderSpec {
  /** arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com */
  arn: string;
  /** https://token.actions.githubusercontent.com */
  url: string;
  /** Audiences (ClientIdList), e.g. ["sts.amazonaws.com"]. */
  clientIds: string[];
}

export interface IamSpec {
  roles: RoleSpec[];
  managedPolicies?: ManagedPolicySpec[];
  oidcProviders?: OidcProviderSpec[];
  /**
   * "enforce" (the default): every call is authorized against the calling
   * session's role; unknown or unsigned credentials are refused.
   * "permissive": calls with credentials that are no session are served as
   * before IAM was modelled (a test must ask for this explicitly).
   */
  mode?: 'enforce' | 'permissive';
}
