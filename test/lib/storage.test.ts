import { Match, Template } from 'aws-cdk-lib/assertions';
import { synthSystem, newApp, buildSystem } from './system';

const { storage, solo, production } = synthSystem();

describe('storage stack', () => {
  test('the catalog table: pk (S) + sk (S), fixed name', () => {
    storage.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'datalith-catalog',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    });
  });

  test('the log table: db (S) + t (N), fixed name', () => {
    storage.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'datalith-log',
      KeySchema: [
        { AttributeName: 'db', KeyType: 'HASH' },
        { AttributeName: 't', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'db', AttributeType: 'S' },
        { AttributeName: 't', AttributeType: 'N' },
      ]),
    });
  });

  test('both tables: on-demand, KMS encryption, point-in-time recovery, deletion protection', () => {
    const tables = storage.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(2);
    for (const table of Object.values(tables)) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table.Properties.Replicas).toHaveLength(1);
      const [replica] = table.Properties.Replicas;
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(replica.DeletionProtectionEnabled).toBe(true);
    }
  });

  test('tables and the admin key are retained when their stack is deleted or they are replaced', () => {
    for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::SecretsManager::Secret']) {
      const resources = storage.findResources(type);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const resource of Object.values(resources)) {
        expect(resource.DeletionPolicy).toBe('Retain');
        expect(resource.UpdateReplacePolicy).toBe('Retain');
      }
    }
  });

  test('logical ids of stateful resources never change (renaming one would orphan the data)', () => {
    expect(Object.keys(storage.findResources('AWS::DynamoDB::GlobalTable')).sort()).toEqual([
      'TablesCatalogA41E506D',
      'TablesLog72BABB86',
    ]);
    expect(Object.keys(storage.findResources('AWS::SecretsManager::Secret'))).toEqual(['AdminAccessKeySecretE8898A61']);
  });

  test('the admin key: a generated plain string under a fixed name', () => {
    storage.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'datalith/admin-access-key',
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
    });
    storage.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.not(Match.objectLike({ SecretStringTemplate: Match.anyValue() })),
    });
  });

  test('nothing in storage is compute: no instances, groups, load balancers or networks', () => {
    const types = new Set(Object.values(storage.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type));
    expect([...types].sort()).toEqual(['AWS::DynamoDB::GlobalTable', 'AWS::SecretsManager::Secret']);
  });

  test('both topologies attach to the same storage (Solo -> Production keeps the data and the key)', () => {
    const imports = (t: Template) =>
      [...new Set(JSON.stringify(t.toJSON()).match(/datalith-storage:ExportsOutput[A-Za-z0-9]+/g) ?? [])].sort();
    expect(imports(solo)).toEqual(imports(production));
    expect(imports(solo).length).toBeGreaterThanOrEqual(3);
  });
});

describe('storage options', () => {
  test('deletion protection can be switched off to delete the data on purpose', () => {
    const app = newApp();
    const stacks = buildSystem(app, { deletionProtection: false });
    const t = Template.fromStack(stacks.storage);
    for (const table of Object.values(t.findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  test('the system name prefixes every physical name, so two systems can share an account', () => {
    const app = newApp();
    const stacks = buildSystem(app, { systemName: 'acme' });
    const t = Template.fromStack(stacks.storage);
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'acme-catalog' });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'acme-log' });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'acme/admin-access-key' });
    expect(stacks.storage.stackName).toBe('acme-storage');
    expect(stacks.solo.stackName).toBe('acme-solo');
    expect(stacks.production.stackName).toBe('acme-production');
  });
});
