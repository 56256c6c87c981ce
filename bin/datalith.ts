#!/usr/bin/env node
/**
 * The CDK app: `npx cdk deploy solo` or `npx cdk deploy production` (each brings the shared
 * `storage` stack along). Options come from context; see docs/deploy.md.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addDatalithSystem, optionsFromContext } from '../lib';

const app = new App();
addDatalithSystem(app, optionsFromContext(app));
// Synth fails on any AWS Solutions finding that is not acknowledged, with its reason, in lib/.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
