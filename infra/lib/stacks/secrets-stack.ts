import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type AppSecret, appSecretNames } from '../config/services.js';

const descriptions: Readonly<Record<AppSecret, string>> = {
  jwtPrivateKey: 'PEM private key auth signs JWTs with. Set with put-secret-value.',
  jwtPublicKey: 'PEM public key api and auth verify JWTs with. Set with put-secret-value.',
  jwtSecret: 'Symmetric JWT secret. Generated; replace with put-secret-value if shared elsewhere.',
  openaiApiKey: 'OpenAI API key. Set with put-secret-value.',
  resendApiKey: 'Resend API key. Set with put-secret-value.',
  cookieSecret: 'Cookie signing secret. Generated; replace with put-secret-value if shared elsewhere.',
};

/**
 * The application secrets. Each is created with a value Secrets Manager
 * generates at deploy time, so no value ever appears in code or in a template;
 * the externally issued ones (keys, API keys) are then set out of band with
 * `aws secretsmanager put-secret-value`, which later deployments leave alone.
 * The database credentials live with the database (see DatabaseStack).
 */
export class SecretsStack extends Stack {
  readonly secrets: Readonly<Record<AppSecret, secretsmanager.ISecret>>;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const secrets = {} as Record<AppSecret, secretsmanager.ISecret>;
    for (const key of Object.keys(appSecretNames) as AppSecret[]) {
      const secret = new secretsmanager.Secret(this, key, {
        secretName: appSecretNames[key],
        description: descriptions[key],
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        // A deleted API key or signing key cannot be recovered from anywhere else.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Issued by third parties (OpenAI, Resend) or shared with clients (JWT keys, cookie secret): rotation is a coordinated manual procedure, not a Lambda.',
      });
      secrets[key] = secret;
    }
    this.secrets = secrets;
  }
}
