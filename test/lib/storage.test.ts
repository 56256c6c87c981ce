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
    expect([...types].sort()).toEqual(['AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::SecretsManager::Secret']);
  });

  test('the segment bucket: retained, encrypted, private, TLS only, a fixed name per account and region', () => {
    const buckets = storage.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toEqual(['SegmentsBucket5FE01FB6']);
    expect(Object.values(buckets)[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    storage.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['datalith-segments-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: Match.absent(),
    });
    storage.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  test('the nodes get the segment bucket by name and may use its objects, nothing more', () => {
    for (const t of [solo, production]) {
      const env = JSON.stringify(t.toJSON());
      expect(env).toContain('DATALITH_SEGMENT_BUCKET');
      const policies = Object.values(t.findResources('AWS::IAM::Policy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
      const s3Statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('s3:')) && JSON.stringify(st.Resource).includes('-segments-'));
      expect(s3Statements.length).toBeGreaterThan(0);
      const actions = new Set(s3Statements.flatMap((st) => [st.Action].flat()));
      expect([...actions].sort()).toEqual(['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:PutObject', 's3:PutObjectLegalHold', 's3:PutObjectRetention', 's3:PutObjectTagging', 's3:PutObjectVersionTagging']);
      expect([...actions].some((a) => /^s3:(\*|PutBucket|DeleteBucket)/.test(a))).toBe(false);
    }
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
