import { App } from 'aws-cdk-lib';
import { computeProps, optionsFromContext } from '../../lib';

describe('topology presets', () => {
  test('solo: one t4g.small, no NAT; production: 2..4 nodes with NAT', () => {
    expect(computeProps('solo')).toMatchObject({
      instanceType: 't4g.small', minNodes: 1, desiredNodes: 1, maxNodes: 1, natGateways: 0, nodePort: 8080,
      nodeEntry: 'services/node/main.ts',
    });
    expect(computeProps('production')).toMatchObject({ minNodes: 2, desiredNodes: 2, maxNodes: 4, natGateways: 2 });
  });

  test('overrides replace preset values; undefined overrides do not', () => {
    expect(computeProps('production', 'datalith', { maxNodes: 6, instanceType: undefined })).toMatchObject({
      maxNodes: 6,
      instanceType: 'm7g.large',
    });
  });
});

describe('eager validation says what was received and what is allowed', () => {
  test.each([
    ['solo', { maxNodes: 2 }, /solo: received min 1, desired 1, max 2; allowed: exactly one node/],
    ['production', { minNodes: 1, desiredNodes: 1 }, /production: received minNodes 1; allowed: >= 2/],
    ['production', { desiredNodes: 5 }, /node counts: received min 2, desired 5, max 4; allowed: min <= desired <= max/],
    ['production', { natGateways: 0 }, /production: received natGateways 0; allowed: >= 1/],
    ['production', { minNodes: 2.5 }, /minNodes: received 2.5; allowed: an integer >= 1/],
    ['solo', { instanceType: 'large' }, /instanceType: received "large"; allowed: an EC2 instance type/],
    ['solo', { nodePort: 80 }, /nodePort: received 80; allowed: an integer from 1024 to 65535/],
    ['solo', { clientCidr: 'everyone' }, /clientCidr: received "everyone"/],
    ['solo', { certificateArn: 'my-cert' }, /certificateArn: received "my-cert"; allowed: an ACM certificate ARN/],
    ['solo', { logRetentionDays: 10 }, /logRetentionDays: received 10; allowed: 1, 3, 5/],
  ] as const)('%s with %j', (topology, overrides, message) => {
    expect(() => computeProps(topology, 'datalith', overrides)).toThrow(message);
  });

  test('system names', () => {
    expect(() => computeProps('solo', 'My_System')).toThrow(/systemName: received "My_System"; allowed: 1-24 lower-case letters/);
  });

  test('unknown topologies', () => {
    expect(() => computeProps('staging' as never)).toThrow(/topology: received "staging"; allowed: solo, production/);
  });
});

describe('options from CDK context', () => {
  const options = (context: Record<string, unknown>) => optionsFromContext(new App({ context }));

  test('strings from -c are parsed; per-topology keys win over shared ones', () => {
    const o = options({
      'datalith:system': 'acme',
      'datalith:deletionProtection': 'false',
      'datalith:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      'datalith:production:maxNodes': '6',
      'datalith:maxNodes': '5',
      'datalith:production:flowLogs': 'false',
    });
    expect(o.systemName).toBe('acme');
    expect(o.deletionProtection).toBe(false);
    expect(o.overrides?.production).toMatchObject({ maxNodes: 6, flowLogs: false, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    expect(o.overrides?.solo).toMatchObject({ maxNodes: 5, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
  });

  test('no context, no options', () => {
    expect(options({})).toEqual({ systemName: undefined, deletionProtection: undefined, overrides: { solo: {}, production: {} } });
  });

  test('the segment cache and the index threshold come from context too', () => {
    const o = options({ 'datalith:cacheSizeMb': '512', 'datalith:production:indexThresholdDatoms': '1000000' });
    expect(o.overrides?.solo).toEqual({ cacheSizeMb: 512 });
    expect(o.overrides?.production).toEqual({ cacheSizeMb: 512, indexThresholdDatoms: 1_000_000 });
    expect(computeProps('production', undefined, o.overrides?.production)).toMatchObject({ cacheSizeMb: 512, indexThresholdDatoms: 1_000_000 });
    expect(() => computeProps('solo', undefined, { cacheSizeMb: 8 })).toThrow(/cacheSizeMb: received 8; allowed: an integer number of MB from 16/);
    expect(() => computeProps('solo', undefined, { indexThresholdDatoms: 2.5 })).toThrow(/indexThresholdDatoms: received 2.5; allowed: an integer from 1000/);
  });

  test('malformed values are refused', () => {
    expect(() => options({ 'datalith:production:maxNodes': 'many' })).toThrow(/datalith:maxNodes: received "many"; allowed: a number/);
    expect(() => options({ 'datalith:deletionProtection': 'yes' })).toThrow(/received "yes"; allowed: true or false/);
  });
});
