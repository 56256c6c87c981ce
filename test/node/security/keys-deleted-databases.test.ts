/**
 * Scoped keys end with their database, over HTTP against running nodes on dynalite: a key is
 * bound to the database's incarnation (its catalog id), so after the database is deleted — and
 * after a database of the same name is created again — the old key is `forbidden` with the
 * reason named, while a key made for the new database works. Also: a deletion that another node
 * made (its key caches untouched), older key records without a bound incarnation, and listings.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createClient, DatalithError } from '../../../services';
import { CatalogStore } from '../../../services/node/storage/catalog-store';
import { createDynamoClient } from '../../../services/node/storage/dynamo-client';
import { LEGACY_CLOCK_SLACK_MS } from '../../../services/node/keys';
import { http, startSystem, type TestSystem } from '../http/harness';
import { expectAnomaly, movableClock, type Answer } from './helpers';

let sys: TestSystem;
/** Far longer than the test runs: only the nodes' key-cache clock, moved by `passTtl`, ends a lookup. */
const TTL = 60_000;
const clock = movableClock();
const passTtl = (): void => clock.advance(TTL);

beforeAll(async () => {
  sys = await startSystem({ nodes: 2, node: { keyCacheTtlMs: TTL }, options: { keyCacheClock: clock.now } });
});
afterAll(async () => {
  await sys.close();
});

const SCHEMA = '[{:db/ident :item/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]';
const DELETED = /^This access key was created for database \S+, which has been deleted; a database created again under that name is a different one and needs a new key$/;

interface Key {
  readonly id: string;
  readonly key: string;
  readonly dbId?: string;
}

async function createDb(name: string): Promise<string> {
  const r = await http(`${sys.url}/v1/databases`, { key: sys.adminKey, body: { name } });
  expect(r.status).toBe(201);
  return (await http(`${sys.url}/v1/databases/${name}`, { key: sys.adminKey })).body.id;
}

async function deleteDb(name: string): Promise<void> {
  expect((await http(`${sys.url}/v1/databases/${name}`, { key: sys.adminKey, method: 'DELETE' })).body).toEqual({ name, deleted: true });
}

async function createKey(db: string, access: 'read-write' | 'read-only' = 'read-write'): Promise<Key> {
  const r = await http(`${sys.url}/v1/keys`, { key: sys.adminKey, body: { scope: { db, access } } });
  expect(r.status).toBe(201);
  return r.body;
}

async function listed(id: string): Promise<Record<string, unknown> | undefined> {
  const r = await http(`${sys.url}/v1/keys`, { key: sys.adminKey });
  return (r.body.keys as Array<Record<string, unknown>>).find((k) => k.id === id);
}

/** `GET /v1/databases/:name` on node `i` with `key`. */
const describeOn = (i: number, name: string, key: string): Promise<Answer> => http(`${sys.nodes[i]!.url}/v1/databases/${name}`, { key });

describe('a scoped key ends with its database', () => {
  test('refused once the database is deleted, and still once the name is created again; a key to the new database works', async () => {
    const firstId = await createDb('reborn');
    const old = await createKey('reborn');
    expect(old.dbId).toBe(firstId);
    expect((await describeOn(0, 'reborn', old.key)).status).toBe(200);
    expect((await describeOn(1, 'reborn', old.key)).status).toBe(200); // node 2 now caches the key

    await deleteDb('reborn');
    // At once on the node that deleted it, for every request the key makes.
    const gone = await describeOn(0, 'reborn', old.key);
    expectAnomaly(gone, 'forbidden', 'auth/database-deleted', DELETED);
    expect(gone.body.message).toContain('database reborn');
    expectAnomaly(await http(`${sys.url}/v1/databases`, { key: old.key }), 'forbidden', 'auth/database-deleted');
    expectAnomaly(await http(`${sys.url}/v1/databases/reborn/transact`, { key: old.key, body: { txData: SCHEMA } }), 'forbidden', 'auth/database-deleted');
    // No key can be made for a database that does not exist.
    const none = await http(`${sys.url}/v1/keys`, { key: sys.adminKey, body: { scope: { db: 'reborn', access: 'read-only' } } });
    expectAnomaly(none, 'not-found', 'db.error/db-not-found', /^Database reborn does not exist$/);

    const secondId = await createDb('reborn');
    expect(secondId).not.toBe(firstId);
    expectAnomaly(await describeOn(0, 'reborn', old.key), 'forbidden', 'auth/database-deleted', DELETED);
    // Through the SDK too, on the new database's data.
    const sdk = createClient({ endpoint: sys.url, accessKey: old.key, timeout: 5_000 });
    try {
      const e = await sdk.connect('reborn').then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(DatalithError);
      expect([(e as DatalithError).category, (e as DatalithError).code]).toEqual(['forbidden', 'auth/database-deleted']);
    } finally {
      await sdk.close();
    }
    // The other node cached the key as good: once the lookup cache TTL has passed, it refuses it.
    passTtl();
    expectAnomaly(await describeOn(1, 'reborn', old.key), 'forbidden', 'auth/database-deleted', DELETED);

    // A key made for the new database is bound to it and works on every node at once.
    const fresh = await createKey('reborn');
    expect(fresh.dbId).toBe(secondId);
    const conn = createClient({ endpoint: sys.url, accessKey: fresh.key, timeout: 5_000 });
    try {
      const r = await (await conn.connect('reborn')).transact(SCHEMA);
      expect(r.dbAfter.t).toBe(r.dbBefore.t + 1);
    } finally {
      await conn.close();
    }
    expect((await describeOn(1, 'reborn', fresh.key)).status).toBe(200);

    // Listing: the old key stays until revoked, marked; the new one is not.
    expect(await listed(old.id)).toEqual(expect.objectContaining({ dbId: firstId, databaseDeleted: true, scope: { db: 'reborn', access: 'read-write' } }));
    const freshListed = await listed(fresh.id);
    expect(freshListed).toEqual(expect.objectContaining({ dbId: secondId }));
    expect(freshListed).not.toHaveProperty('databaseDeleted');
    expect((await http(`${sys.url}/v1/keys/${old.id}`, { key: sys.adminKey, method: 'DELETE' })).body).toEqual({ id: old.id, revoked: true });
    expectAnomaly(await describeOn(0, 'reborn', old.key), 'forbidden', 'auth/invalid-key');
    expect(await listed(old.id)).toBeUndefined();
  });

  test('a deletion no node was told of (made elsewhere, then a crash) still ends the key: there is no revocation step to miss', async () => {
    const firstId = await createDb('elsewhere');
    const old = await createKey('elsewhere', 'read-only');
    expect((await describeOn(0, 'elsewhere', old.key)).status).toBe(200);
    // Delete and re-create straight in the catalog, as another node would; this node's key cache is untouched.
    const dynamo = createDynamoClient({ endpoint: sys.storage.endpoint });
    const catalog = new CatalogStore(dynamo, sys.tables);
    try {
      expect(await catalog.deleteDatabase('elsewhere')).toBe(true);
      expect((await catalog.createDatabase('elsewhere')).id).not.toBe(firstId);
    } finally {
      dynamo.destroy();
    }
    passTtl();
    expectAnomaly(await describeOn(0, 'elsewhere', old.key), 'forbidden', 'auth/database-deleted', DELETED);
    expect(await listed(old.id)).toEqual(expect.objectContaining({ dbId: firstId, databaseDeleted: true }));
  });

  test('admin keys are not bound to databases', async () => {
    const r = await http(`${sys.url}/v1/keys`, { key: sys.adminKey, body: { scope: 'admin' } });
    expect(r.status).toBe(201);
    expect(r.body).not.toHaveProperty('dbId');
    await createDb('admin-bound');
    await deleteDb('admin-bound');
    expect((await http(`${sys.url}/v1/databases`, { key: r.body.key })).status).toBe(200);
    expect(await listed(r.body.id)).not.toHaveProperty('databaseDeleted');
  });
});

describe('key records from before keys were bound (no dbId)', () => {
  test('keep working for their database, and end with it', async () => {
    await createDb('legacy');
    // A record as the earlier code wrote it: digest, scope, creation time and creator only.
    const id = randomBytes(8).toString('hex');
    const key = `dlk.${id}.${randomBytes(32).toString('base64url')}`;
    const keyMade = Date.now();
    const dynamo = createDynamoClient({ endpoint: sys.storage.endpoint });
    try {
      await new CatalogStore(dynamo, sys.tables).putRecord('access-key', id, {
        hash: createHash('sha256').update(key).digest('hex'),
        scope: { db: 'legacy', access: 'read-only' },
        createdAt: new Date(keyMade).toISOString(),
        createdBy: 'admin-0',
      });
    } finally {
      dynamo.destroy();
    }
    expect((await describeOn(0, 'legacy', key)).status).toBe(200);
    const before = await listed(id);
    expect(before).toEqual({ id, scope: { db: 'legacy', access: 'read-only' }, createdAt: expect.any(String), createdBy: 'admin-0' });

    await deleteDb('legacy');
    expectAnomaly(await describeOn(0, 'legacy', key), 'forbidden', 'auth/database-deleted', DELETED);
    // Created again, by a node whose clock is past the key's creation beyond the slack: a different database.
    const later = createDynamoClient({ endpoint: sys.storage.endpoint });
    try {
      await new CatalogStore(later, sys.tables, () => keyMade + LEGACY_CLOCK_SLACK_MS + 1).createDatabase('legacy');
    } finally {
      later.destroy();
    }
    passTtl(); // the refusal above is cached; the next lookup reads the new database
    expectAnomaly(await describeOn(0, 'legacy', key), 'forbidden', 'auth/database-deleted', DELETED);
    expect(await listed(id)).toEqual(expect.objectContaining({ databaseDeleted: true }));
  });
});
