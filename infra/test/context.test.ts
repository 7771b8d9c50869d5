import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStaging, readSettings } from '../lib/staging.js';
import { committedContext } from './synth.js';

/** The app as deployed once the domain exists: `cdk deploy -c domain=alva.app -c github-repo=acme/shop ...`. */
describe('with context domain, github-repo and alarm-email', () => {
  let alb: Template;
  let ecs: Template;
  let ciIdentity: Template;
  let monitoring: Template;
  beforeAll(() => {
    const app = new App({
      context: {
        ...committedContext(),
        domain: 'alva.app',
        'github-repo': 'acme/shop',
        'alarm-email': 'oncall@example.com',
      },
    });
    const stacks = buildStaging(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    alb = Template.fromStack(stacks.alb);
    ecs = Template.fromStack(stacks.ecs);
    ciIdentity = Template.fromStack(stacks.ciIdentity);
    monitoring = Template.fromStack(stacks.monitoring);
  });

  it('requests one DNS-validated ACM certificate for every service host', () => {
    alb.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'staging.alva.app',
      SubjectAlternativeNames: ['api-staging.alva.app', 'auth-staging.alva.app', 'admin-staging.alva.app'],
      ValidationMethod: 'DNS',
    });
  });

  it('redirects HTTP to HTTPS and serves HTTPS with the certificate', () => {
    alb.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: Match.stringLikeRegexp('^Certificate') } }],
    });
  });

  it('routes by host as well as by path', () => {
    for (const host of [
      'staging.alva.app',
      'api-staging.alva.app',
      'auth-staging.alva.app',
      'admin-staging.alva.app',
    ]) {
      alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
      });
    }
    alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
    });
  });

  it('gives api and auth the public hosts as CORS origins', () => {
    ecs.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'alva-api',
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            {
              Name: 'CORS_ORIGINS',
              Value:
                'https://staging.alva.app,https://api-staging.alva.app,https://auth-staging.alva.app,https://admin-staging.alva.app',
            },
          ]),
        }),
      ],
    });
  });

  it('trusts only the given repository, in each role', () => {
    const subjects = Object.values(ciIdentity.findResources('AWS::IAM::Role')).flatMap((role) =>
      (
        role as {
          Properties: {
            AssumeRolePolicyDocument: {
              Statement: { Condition: { StringEquals: Record<string, string | string[]> } }[];
            };
          };
        }
      ).Properties.AssumeRolePolicyDocument.Statement.flatMap((statement) => [
        statement.Condition.StringEquals['token.actions.githubusercontent.com:sub'],
      ]),
    );
    expect(subjects.flat().sort()).toEqual([
      'repo:acme/shop:environment:staging',
      'repo:acme/shop:environment:staging-migrations',
      'repo:acme/shop:environment:staging-rollback',
      'repo:acme/shop:ref:refs/heads/staging',
      'repo:acme/shop:ref:refs/heads/staging',
    ]);
  });

  it('subscribes the alarm address', () => {
    monitoring.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });
});

describe('context validation', () => {
  const settings = (context: Record<string, unknown>) => () => readSettings(new App({ context }));

  it('rejects malformed values with the key and the expected form', () => {
    expect(settings({ account: '1234' })).toThrow(/"account" must be 12 digits/);
    expect(settings({ 'github-repo': 'no-slash' })).toThrow(/"github-repo" must be owner\/name/);
    expect(settings({ 'github-repo': 'a/b', domain: 'https://alva.app' })).toThrow(
      /"domain" must be a DNS name/,
    );
  });

  it('refuses to synthesize without github-repo, naming the key and how to pass it', () => {
    expect(settings({})).toThrow(/Context "github-repo" is required/);
    expect(settings({})).toThrow(/-c github-repo=OWNER\/NAME/);
    expect(settings({})).toThrow(/infra\/cdk\.json/);
  });

  it('takes github-repo from cdk.json, where the repository commits its own', () => {
    expect(committedContext()['github-repo']).toBe('alva-app/alva');
  });

  it('defaults to the offline account, no domain and the initial image tag', () => {
    expect(settings({ 'github-repo': 'alva-app/alva' })()).toEqual({
      account: '123456789012',
      domain: undefined,
      githubRepository: 'alva-app/alva',
      alarmEmail: undefined,
      imageTag: 'initial',
      existingOidcProviderArn: undefined,
    });
  });
});
