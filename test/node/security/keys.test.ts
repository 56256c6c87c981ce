/**
 * Access keys over HTTP against running nodes: scoped keys created, used, listed and revoked
 * through the SDK; stored hashed in the catalog; wrong, missing and out-of-scope keys forbidden.
 */
import { createHash } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createClient, DatalithError } from '../../../services';
import { createDynamoClient } from '../../../services/node/storage/dynamo-client';
import { http, startSystem, type TestSystem } from '../http/harness';
import { movableClock } from './helpers';

let sys: TestSystem;
/** Far longer than the test runs: only the nodes' key-cache clock, moved by the test, ends a lookup. */
const TTL = 60_000;
const clock = movableClock();

beforeAll(async () => {
  sys = await startSystem({ nodes: 2, node: { keyCacheTtlMs: TTL }, options: { keyCacheClock: clock.now } });
});
afterAll(async () => {
  await sys.close();
});

const admin = () => createClient({ endpoint: sys.url, accessKey: sys.adminKey, timeout: 5_000 });
const client = (key: string, url = sys.url) => createClient({ endpoint: url, accessKey: key, timeout: 5_000 });

async function refusal(p: Promise<unknown>): Promise<DatalithError> {
  try {
    await p;
  } catch (e) {
    return e as DatalithError;
  }
  throw new Error('expected a refusal');
}

const SCHEMA = '[{:db/ident :item/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]';

describe('scoped keys', () => {
  let a: ReturnType<typeof admin>;
  beforeAll(async () => {
    a = admin();
    await a.createDatabase('keys-db');
    await a.createDatabase('keys-other');
    await (await a.connect('keys-db')).transact(SCHEMA);
    await (await a.connect('keys-other')).transact(SCHEMA);
  });
  afterAll(async () => {
    await a.close();
  });

  test('a read-only key reads its database and nothing else', async () => {
    const created = await a.createKey({ db: 'keys-db', access: 'read-only' }, { description: 'dashboards' });
    expect(created).toMatchObject({ scope: { db: 'keys-db', access: 'read-only' }, createdBy: 'admin-0', description: 'dashboards' });
    expect(created.id).toMatch(/^[0-9a-f]{16}$/);
    expect(created.key).toMatch(/^dlk\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const ro = client(created.key);
    try {
      const conn = await ro.connect('keys-db');
      const db = await conn.db();
      expect(await db.q('[:find ?e :where [?e :db/ident :item/name]]')).toHaveLength(1);
      const w = await refusal(conn.transact('[{:item/name "x"}]'));
      expect([w.category, w.code]).toEqual(['forbidden', 'auth/read-only']);
      expect(w.message).toContain('read-only');
      // Speculative transactions only read: allowed.
      expect((await db.with('[{:item/name "spec"}]')).txData.length).toBeGreaterThan(0);
      expect((await conn.db()).t).toBe(db.t);
      const other = await refusal(ro.connect('keys-other'));
      expect([other.category, other.code]).toEqual(['forbidden', 'auth/wrong-database']);
      expect(await ro.listDatabases()).toEqual(['keys-db']);
      // The node's status names the loaded databases the key may see, and no other.
      for (const name of ['keys-db', 'keys-other']) expect((await http(`${sys.nodes[0]!.url}/v1/databases/${name}`, { key: sys.adminKey })).status).toBe(200);
      const status = await http(`${sys.nodes[0]!.url}/v1/status`, { key: created.key });
      expect(status.status).toBe(200);
      expect(Object.keys(status.body.databases)).toEqual(['keys-db']);
      expect(Object.keys((await http(`${sys.nodes[0]!.url}/v1/status`, { key: sys.adminKey })).body.databases)).toEqual(expect.arrayContaining(['keys-db', 'keys-other']));
      for (const p of [ro.createDatabase('nope'), ro.deleteDatabase('keys-db'), (ro as ReturnType<typeof admin>).listKeys(), (ro as ReturnType<typeof admin>).createKey('admin')]) {
        expect((await refusal(p)).category).toBe('forbidden');
      }
      // A query naming another database as a second source is refused too.
      const r = await http(`${sys.url}/v1/databases/keys-db/q`, {
        key: created.key,
        body: { query: '[:find ?e :in $ $b :where [$b ?e :db/ident]]', args: [{ '#db': { name: 'keys-other' } }] },
      });
      expect([r.status, r.body.code]).toEqual([403, 'auth/wrong-database']);
    } finally {
      await ro.close();
    }
  });

  test('a read-write key transacts on its database only', async () => {
    const { key } = await a.createKey({ db: 'keys-db', access: 'read-write' });
    const rw = client(key);
    try {
      const conn = await rw.connect('keys-db');
      const r = await conn.transact('[{:item/name "written"}]');
      expect(r.dbAfter.t).toBe(r.dbBefore.t + 1);
      const other = await refusal(rw.connect('keys-other'));
      expect(other.code).toBe('auth/wrong-database');
      const r2 = await http(`${sys.url}/v1/databases/keys-other/transact`, { key, body: { txData: '[{:item/name "x"}]' } });
      expect([r2.status, r2.body.category]).toEqual([403, 'forbidden']);
      expect((await refusal(rw.createDatabase('nope'))).code).toBe('auth/admin-only');
    } finally {
      await rw.close();
    }
  });

  test('an admin key from the API administers, on every node', async () => {
    const { key, id } = await a.createKey('admin');
    const ad = client(key, sys.nodes[1]!.url);
    try {
      await ad.createDatabase('keys-made-by-api-admin');
      expect(await ad.listDatabases()).toEqual(expect.arrayContaining(['keys-db', 'keys-other', 'keys-made-by-api-admin']));
      const made = await ad.createKey({ db: 'keys-other', access: 'read-only' });
      expect(made.createdBy).toBe(id);
      expect((await ad.listKeys()).map((k) => k.id)).toEqual(expect.arrayContaining([id, made.id]));
    } finally {
      await ad.close();
    }
  });

  test('bad scopes and keys for unknown databases are refused with the problem named', async () => {
    const bad = await refusal(a.createKey({ db: 'keys-db', access: 'everything' } as never));
    expect([bad.category, bad.code]).toEqual(['incorrect', 'auth/invalid-scope']);
    expect((await refusal(a.createKey({ db: '../etc', access: 'read-only' }))).category).toBe('incorrect');
    expect((await refusal(a.createKey('root' as never))).code).toBe('auth/invalid-scope');
    const missing = await refusal(a.createKey({ db: 'no-such-db', access: 'read-only' }));
    expect([missing.category, missing.message]).toEqual(['not-found', 'Database no-such-db does not exist']);
    const r = await http(`${sys.url}/v1/keys`, { key: sys.adminKey, body: { scope: 'admin', description: 'x'.repeat(300) } });
    expect([r.status, r.body.code]).toEqual([400, 'auth/invalid-description']);
    expect((await http(`${sys.url}/v1/keys/not-an-id`, { key: sys.adminKey, method: 'DELETE' })).body.code).toBe('auth/invalid-key-id');
    expect(await a.revokeKey('0123456789abcdef')).toBe(false);
  });
});

describe('keys are stored hashed', () => {
  test('the catalog holds the SHA-256 digest and scope, never the key; lists never show either', async () => {
    const a = admin();
    try {
      await a.createDatabase('hashed');
      const created = await a.createKey({ db: 'hashed', access: 'read-write' });
      const secret = created.key.split('.')[2]!;
      const dynamo = createDynamoClient({ endpoint: sys.storage.endpoint });
      try {
        const scan = await dynamo.send(new ScanCommand({ TableName: sys.tables.catalogTable }));
        const all = JSON.stringify(scan.Items);
        expect(all).not.toContain(secret);
        expect(all).not.toContain(created.key);
        const item = scan.Items!.find((it) => it.pk?.S === 'access-key' && it.sk?.S === created.id)!;
        const data = JSON.parse(item.data!.S!);
        expect(data.hash).toBe(createHash('sha256').update(created.key).digest('hex'));
        expect(data.scope).toEqual({ db: 'hashed', access: 'read-write' });
        // Bound to this incarnation of the database (docs/security.md).
        expect(data.dbId).toBe((await http(`${sys.url}/v1/databases/hashed`, { key: sys.adminKey })).body.id);
        expect((created as { dbId?: string }).dbId).toBe(data.dbId);
      } finally {
        dynamo.destroy();
      }
      const listed = await a.listKeys();
      const mine = listed.find((k) => k.id === created.id)!;
      expect(mine).toEqual({ id: created.id, scope: { db: 'hashed', access: 'read-write' }, dbId: (created as { dbId?: string }).dbId, createdAt: created.createdAt, createdBy: 'admin-0' });
      expect(JSON.stringify(listed)).not.toContain(secret);
      expect(JSON.stringify(listed)).not.toMatch(/"hash"|[0-9a-f]{64}/);
    } finally {
      await a.close();
    }
  });
});

describe('wrong and missing keys', () => {
  test('are forbidden (403) with a message naming the problem', async () => {
    const a = admin();
    let key: string;
    try {
      await a.createDatabase('wrong-keys');
      key = (await a.createKey({ db: 'wrong-keys', access: 'read-write' })).key;
    } finally {
      await a.close();
    }
    const url = `${sys.url}/v1/databases/wrong-keys`;
    const [, id, secret] = key.split('.');
    // The right id with another secret; the right secret under another id; a truncated key.
    const flipped = `${secret![0] === 'A' ? 'B' : 'A'}${secret!.slice(1)}`;
    for (const k of [`dlk.${id}.${flipped}`, `dlk.${'0'.repeat(16)}.${secret}`, key.slice(0, -1), `${key}x`, 'dlk..', sys.adminKey.toUpperCase()]) {
      const r = await http(url, { key: k });
      expect({ k, status: r.status, code: r.body.code }).toEqual({ k, status: 403, code: 'auth/invalid-key' });
      expect(r.body.message).toBe('The access key is not valid');
    }
    expect((await http(url)).body).toMatchObject({ category: 'forbidden', code: 'auth/missing-key' });
    expect((await http(url, { headers: { authorization: 'Bearer' } })).body.code).toBe('auth/malformed-header');
    expect((await http(url, { headers: { authorization: `Token ${key}` } })).body.code).toBe('auth/malformed-header');
    expect((await http(url, { key })).status).toBe(200);
    // The key admin routes need a key like everything under /v1.
    expect((await http(`${sys.url}/v1/keys`)).status).toBe(403);
  });
});

describe('revocation', () => {
  test('at once on the node that revoked; on the other nodes within the lookup cache TTL', async () => {
    const a = admin();
    try {
      await a.createDatabase('revoked');
      const { id, key } = await a.createKey({ db: 'revoked', access: 'read-only' });
      const on = (i: number) => http(`${sys.nodes[i]!.url}/v1/databases/revoked`, { key });
      expect((await on(0)).status).toBe(200);
      expect((await on(1)).status).toBe(200); // node 2 now caches the key
      expect(await a.revokeKey(id)).toBe(true);
      expect((await on(0)).body.code).toBe('auth/invalid-key');
      expect((await a.listKeys()).map((k) => k.id)).not.toContain(id);
      // Node 2 may still accept the key, but only until its cached lookup expires.
      clock.advance(TTL);
      const there = await on(1);
      expect([there.status, there.body.code]).toEqual([403, 'auth/invalid-key']);
      expect(await a.revokeKey(id)).toBe(false);
    } finally {
      await a.close();
    }
  });
});
