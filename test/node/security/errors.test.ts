/**
 * Error answers never carry internals: faults answer a reference (the log has the details),
 * storage failures name the operation but not the SDK's message (endpoints, tables).
 */
import { DatalithError } from '../../../services/engine/errors';
import { toHttpAnomaly } from '../../../services/node/http/errors';
import { storageError } from '../../../services/node/storage/errors';
import { http, startSystem } from '../http/harness';
import { expectAnomaly, LEAK } from './helpers';

describe('toHttpAnomaly', () => {
  test('a fault answers a reference and its code, never its message or data', () => {
    const a = toHttpAnomaly(new DatalithError('fault', 'log entry db-1@7 is corrupt: bad magic at /var/lib/x', 'log/corrupt-entry', { db: 'db-1' }));
    expect(a.status).toBe(500);
    expect(a.body).toEqual({ category: 'fault', code: 'log/corrupt-entry', message: expect.stringMatching(/^Internal error \(reference [0-9a-f-]{36}\)/), data: { reference: expect.any(String) } });
    expect(a.body.message).not.toMatch(/corrupt|var\/lib|db-1/);
    expect(a.logged).toBeDefined();
  });

  test('storage failures name the operation and the cause only', () => {
    const raw = Object.assign(new Error('connect ECONNREFUSED 10.0.3.17:8000 (https://dynamodb.eu-west-1.amazonaws.com/)'), { name: 'TimeoutError' });
    const a = toHttpAnomaly(storageError('GetItem', raw, { table: 'prod-catalog', pk: 'db', sk: 'x' }));
    expect(a.status).toBe(503);
    expect(a.body).toEqual({ category: 'unavailable', code: 'storage/unavailable', message: 'Storage is unavailable during GetItem (TimeoutError); retry' });
    const t = toHttpAnomaly(storageError('Query', Object.assign(new Error('Rate exceeded for table prod-log'), { name: 'ThrottlingException' })));
    expect(t.body).toMatchObject({ category: 'busy', message: 'Storage is throttling requests during Query (ThrottlingException); retry with backoff' });
    expect(JSON.stringify([a.body, t.body])).not.toMatch(/10\.0\.3|amazonaws|prod-/);
  });

  test('unexpected errors and stack overflows', () => {
    const e = toHttpAnomaly(new TypeError("Cannot read properties of undefined (reading 'x') at /work/main/services/node/x.ts:1:2"));
    expect(e.status).toBe(500);
    expect(JSON.stringify(e.body)).not.toMatch(LEAK);
    expect(toHttpAnomaly(new RangeError('Maximum call stack size exceeded')).body).toMatchObject({ category: 'incorrect', code: 'http/too-deep' });
  });
});

describe('over HTTP', () => {
  test('storage down: unavailable (503) naming the operation, nothing about the endpoint; /health stays up', async () => {
    const sys = await startSystem();
    try {
      const key = sys.adminKey;
      await sys.storage.close();
      const r = await http(`${sys.url}/v1/databases`, { key });
      expectAnomaly(r, 'unavailable', 'storage/unavailable', /^Storage is unavailable during Query/);
      expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|localhost|catalog-/);
      expect((await http(`${sys.url}/health`)).status).toBe(200);
    } finally {
      await Promise.all(sys.nodes.map((n) => n.close()));
    }
  });
});
