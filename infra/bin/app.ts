import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStaging } from '../lib/staging.js';

const app = new App();
buildStaging(app);
// Synthesis fails on any unacknowledged AwsSolutions finding.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
