// Builds the CDK app the way bin/datalith.ts does, with the context of cdk.json and a tiny node
// app in place of services/node/main.ts, and synthesizes it once.
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DatalithAppOptions, DatalithSystemStacks, addDatalithSystem } from '../../lib';

const cdkJson = require('../../cdk.json') as { context: Record<string, unknown> };

export const FIXTURE_ENTRY = path.join(__dirname, 'fixtures', 'node-main.ts');

export interface SynthesizedSystem {
  readonly app: App;
  readonly stacks: DatalithSystemStacks;
  readonly storage: Template;
  readonly solo: Template;
  readonly production: Template;
}

export function newApp(): App {
  return new App({ context: { ...cdkJson.context } });
}

/** The system with the fixture node app, plus any options; each topology's overrides are merged. */
export function buildSystem(app: App, options: DatalithAppOptions = {}): DatalithSystemStacks {
  return addDatalithSystem(app, {
    ...options,
    overrides: {
      solo: { nodeEntry: FIXTURE_ENTRY, ...options.overrides?.solo },
      production: { nodeEntry: FIXTURE_ENTRY, ...options.overrides?.production },
    },
  });
}

export function synthSystem(options: DatalithAppOptions = {}): SynthesizedSystem {
  const app = newApp();
  const stacks = buildSystem(app, options);
  return {
    app,
    stacks,
    storage: Template.fromStack(stacks.storage),
    solo: Template.fromStack(stacks.solo),
    production: Template.fromStack(stacks.production),
  };
}

/** The single resource of a type in a template, failing loudly if there is not exactly one. */
export function onlyResource(template: Template, type: string): { id: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  const [id, resource] = found[0]!;
  return { id, resource };
}

/** The user data script of the nodes' launch template, with tokens rendered as JSON. */
export function userDataOf(template: Template): string {
  const { resource } = onlyResource(template, 'AWS::EC2::LaunchTemplate');
  const parts = resource.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}
