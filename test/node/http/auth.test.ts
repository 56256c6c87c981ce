/** Access keys: constant-time digests, authorization by role, and the admin key from Secrets Manager. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminKeyCheck, anyKeyCheck, authorize, keyDigest, keyMatches, readSecretString, type AccessKeyCheck } from '../../../services/node/http/auth';
import { loadConfig } from '../../../services/node/config';
import { DatalithError } from '../../../services/engine/errors';

function thrown(f: () => void): DatalithError {
  try {
    f();
  } catch (e) {
    return e as DatalithError;
  }
  throw new Error('expected a throw');
}

describe('access keys', () => {
  test('keys are compared as digests', async () => {
    expect(keyMatches('secret', keyDigest('secret'))).toBe(true);
    expect(keyMatches('secreT', keyDigest('secret'))).toBe(false);
    const check = adminKeyCheck(['one', 'two']);
    expect(await check.authenticate('two')).toEqual({ keyId: 'admin-1', role: 'admin' });
    expect(await check.authenticate('three')).toBeUndefined();
    expect(await adminKeyCheck(['']).authenticate('')).toBeUndefined();
  });

  test('scoped keys plug in beside the admin key', async () => {
    const scoped: AccessKeyCheck = { authenticate: async (k) => (k === 'ro' ? { keyId: 'ro', role: 'read-only', databases: ['people'] } : undefined) };
    const check = anyKeyCheck(adminKeyCheck(['admin']), scoped);
    const ro = await check.authenticate('ro');
    expect(ro?.role).toBe('read-only');
    authorize(ro, { kind: 'read', db: 'people' });
    authorize(ro, { kind: 'list-databases' });
    expect(thrown(() => authorize(ro, { kind: 'write', db: 'people' })).code).toBe('auth/read-only');
    expect(thrown(() => authorize(ro, { kind: 'read', db: 'other' })).code).toBe('auth/wrong-database');
    expect(thrown(() => authorize(ro, { kind: 'admin' })).category).toBe('forbidden');
    authorize(await check.authenticate('admin'), { kind: 'admin' });
    expect(thrown(() => authorize(undefined, { kind: 'read', db: 'x' })).category).toBe('forbidden');
  });
});

describe('the admin key from Secrets Manager', () => {
  let server: http.Server;
  let endpoint: string;
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answer: { status: number; body: unknown } = { status: 200, body: { SecretString: 'from-secret\n' } };
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:datalith/admin-access-key-AbCdEf';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a SigV4-signed GetSecretValue with the node credentials', async () => {
    const key = await readSecretString(arn, { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, endpoint });
    expect(key).toBe('from-secret');
    const req = seen.at(-1)!;
    expect(req.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, SignedHeaders=.*x-amz-target.*, Signature=[0-9a-f]{64}$/);
    expect(JSON.parse(req.body)).toEqual({ SecretId: arn });
  });

  test('refusals and bad ARNs are clear errors', async () => {
    answer = { status: 400, body: { __type: 'com.amazonaws.secretsmanager#AccessDeniedException', message: 'no' } };
    const e = await readSecretString(arn, { credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint }).then(
      () => { throw new Error('expected a refusal'); },
      (x: DatalithError) => x,
    );
    expect(e.code).toBe('config/secret-refused');
    expect(e.message).toContain('AccessDeniedException');
    await expect(readSecretString('not-an-arn', { credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })).rejects.toThrow(/ARN/);
  });

  test('the environment may name the secret instead of the key', () => {
    const c = loadConfig({ DATALITH_ADMIN_KEY_SECRET_ARN: arn });
    expect(c.adminKeySecretArn).toBe(arn);
    expect(c.adminKey).toBeUndefined();
    expect(loadConfig({ DATALITH_ADMIN_KEY: 'k', DATALITH_ADMIN_KEY_SECRET_ARN: arn }).adminKey).toBe('k');
  });
});
