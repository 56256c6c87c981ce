import { Template } from 'aws-cdk-lib/assertions';
import { synthSystem } from './system';

const system = synthSystem();

/** Asset hashes change with every edit of the node app; the snapshot is about the infrastructure. */
function normalized(template: Template): unknown {
  return JSON.parse(JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}/g, '[ASSET_HASH]'));
}

describe('one snapshot per stack', () => {
  test.each(['storage', 'solo', 'production'] as const)('%s', (name) => {
    expect(normalized(system[name])).toMatchSnapshot();
  });

  test('normalization leaves no asset hash behind', () => {
    expect(JSON.stringify(normalized(system.solo))).not.toMatch(/[0-9a-f]{64}/);
    expect(JSON.stringify(normalized(system.solo))).toContain('[ASSET_HASH].zip');
  });
});
