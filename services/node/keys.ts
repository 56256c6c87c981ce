/**
 * Scoped access keys, stored in the catalog table (docs/security.md).
 *
 * A key is `dlk.<id>.<secret>`: `id` is 16 hex characters (public: it names the key in lists,
 * logs and revocations), `secret` is 32 random bytes in base64url. The catalog holds, under
 * pk `access-key`, sk `<id>`, only the SHA-256 digest of the whole key and its scope — never the
 * key. A presented key is looked up by its id and its digest compared with the stored one in
 * constant time (`timingSafeEqual`). SHA-256 rather than a slow password hash: the secret has
 * 256 bits of entropy, so there is nothing to brute-force, and every request pays the cost.
 *
 * Lookups are cached per node for `cacheTtlMs` (default 5 s), found and not found alike, so a
 * busy node does not read the catalog on every request and random ids cannot flood it. A key
 * revoked through this node stops working here at once; on other nodes within `cacheTtlMs`.
 *
 * Scopes: `admin` (everything), or one database with `read-write` or `read-only` access.
 * A scoped key is bound to the database's incarnation — the catalog record's `id`, new each time
 * a name is created — stored as `dbId` beside the scope. Once that incarnation is deleted the
 * key is refused (`forbidden`, `auth/database-deleted`), also after a database of the same name
 * is created again: the check reads the database's catalog record with the key (and caches the
 * verdict with it), so it needs no revocation step that a crash could skip, and a deletion
 * applies on the deleting node at once (`CatalogStore.onDatabaseDeleted` empties the cache),
 * on the others within `cacheTtlMs`. Records written before keys were bound have no `dbId`:
 * such a key applies to a database of its name created before the key (`LEGACY_CLOCK_SLACK_MS`).
 *
 * The admin key the node is started with (the local cluster's `<data-dir>/access-key`, the
 * Secrets Manager secret in AWS) is separate: it is not in the catalog and cannot be revoked
 * through the API (auth.ts, `adminKeyCheck`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { describeValue, forbidden, incorrect, notFound, checkDatabaseName } from '../engine';
import type { AccessKeyCheck, Principal } from './http/auth';
import { DEFAULT_KEY_CACHE_TTL_MS } from './config';
import type { CatalogStore, DatabaseRecord } from './storage/catalog-store';

export type KeyAccess = 'read-write' | 'read-only';
export type KeyScope = 'admin' | { readonly db: string; readonly access: KeyAccess };

/** What `listKeys` shows of a key: never the key or its digest. */
export interface KeyInfo {
  readonly id: string;
  readonly scope: KeyScope;
  /** A scoped key's database incarnation (the `id` of `GET /v1/databases/:name`); absent on older keys. */
  readonly dbId?: string;
  /** ISO-8601. */
  readonly createdAt: string;
  /** The key id of the admin who created it (`admin-0` for the node's admin key). */
  readonly createdBy: string;
  readonly description?: string;
  /** Present on a scoped key whose database has been deleted since: the key is refused. */
  readonly databaseDeleted?: true;
}

/** `createKey`'s answer: the key itself, shown this once. */
export interface CreatedKey extends KeyInfo {
  readonly key: string;
}

export const KEY_PARTITION = 'access-key';
export { DEFAULT_KEY_CACHE_TTL_MS };
const KEY_CACHE_CAPACITY = 10_000;
const MAX_DESCRIPTION = 256;
const KEY_FORMAT = /^dlk\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
/**
 * A key record without `dbId` (written before keys were bound) applies to a database of its name
 * created no later than this after the key: the two times come from the clocks of the nodes that
 * made them.
 */
export const LEGACY_CLOCK_SLACK_MS = 1_000;

/** Whether a presented key has the shape of a catalog key (else only the admin key can match). */
export function parseKey(key: string): { id: string } | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { id: m[1]! } : undefined;
}

function digestHex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function sameDigest(key: string, storedHex: string): boolean {
  const a = createHash('sha256').update(key, 'utf8').digest();
  const b = Buffer.from(storedHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Validates a scope from a request or the SDK. */
export function parseScope(x: unknown): KeyScope {
  if (x === 'admin') return 'admin';
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    const o = x as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'db' && k !== 'access');
    if (extra.length === 0 && typeof o.db === 'string' && (o.access === 'read-write' || o.access === 'read-only')) {
      checkDatabaseName(o.db);
      return { db: o.db, access: o.access };
    }
  }
  throw incorrect('auth/invalid-scope',
    `A key scope is "admin" or { db: <database name>, access: "read-write" | "read-only" }, got ${describeValue(x)}`,
    { field: 'scope' });
}

export function principalFor(id: string, scope: KeyScope): Principal {
  return scope === 'admin' ? { keyId: id, role: 'admin' } : { keyId: id, role: scope.access, databases: [scope.db] };
}

interface StoredKey {
  readonly hash: string;
  readonly scope: KeyScope;
  /** The scope's database incarnation (absent: admin keys, and scoped keys from before binding). */
  readonly dbId?: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly description?: string;
}

function storedKey(data: Record<string, unknown>): StoredKey | undefined {
  if (typeof data.hash !== 'string' || !/^[0-9a-f]{64}$/.test(data.hash)) return undefined;
  let scope: KeyScope;
  try {
    scope = parseScope(data.scope);
  } catch {
    return undefined;
  }
  return {
    hash: data.hash,
    scope,
    ...(scope !== 'admin' && typeof data.dbId === 'string' && data.dbId !== '' ? { dbId: data.dbId } : {}),
    createdAt: typeof data.createdAt === 'string' ? data.createdAt : '',
    createdBy: typeof data.createdBy === 'string' ? data.createdBy : '',
    ...(typeof data.description === 'string' ? { description: data.description } : {}),
  };
}

/**
 * Whether a scoped key's database incarnation is gone, given the catalog record its name has now
 * (none: deleted). Incarnation ids are never reused, so another id, or none, means the key's own
 * database will not come back.
 */
function databaseGone(k: StoredKey, current: DatabaseRecord | undefined): boolean {
  if (k.scope === 'admin') return false;
  if (current === undefined) return true;
  if (k.dbId !== undefined) return current.id !== k.dbId;
  // An older key: gone if the database of that name was created after the key (else it cannot tell).
  const keyMade = Date.parse(k.createdAt);
  const dbMade = Date.parse(current.createdAt);
  return Number.isFinite(keyMade) && Number.isFinite(dbMade) && dbMade > keyMade + LEGACY_CLOCK_SLACK_MS;
}

function databaseDeletedError(db: string) {
  return forbidden('auth/database-deleted',
    `This access key was created for database ${db}, which has been deleted; a database created again under that name is a different one and needs a new key`,
    { dbName: db });
}

function info(id: string, k: StoredKey, gone = false): KeyInfo {
  return {
    id,
    scope: k.scope,
    ...(k.dbId !== undefined ? { dbId: k.dbId } : {}),
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    ...(k.description !== undefined ? { description: k.description } : {}),
    ...(gone ? { databaseDeleted: true as const } : {}),
  };
}

/** A key record, and for a scoped key whether its database was gone when the record was read. */
interface Lookup {
  readonly stored: StoredKey;
  readonly gone: boolean;
}

interface CacheEntry {
  readonly expires: number;
  readonly value: Promise<Lookup | undefined>;
}

export interface KeyStoreOptions {
  /** How long a lookup (found or not) is reused; the bound on revocation elsewhere. */
  readonly cacheTtlMs?: number;
  readonly now?: () => number;
}

export class KeyStore implements AccessKeyCheck {
  private readonly cache = new Map<string, CacheEntry>();
  readonly cacheTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly catalog: CatalogStore,
    private readonly opts: KeyStoreOptions = {},
  ) {
    this.cacheTtlMs = opts.cacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS;
    this.now = opts.now ?? Date.now;
    // Deletions are rare: forgetting every cached lookup is simpler than finding the keys bound.
    catalog.onDatabaseDeleted(() => this.clearCache());
  }

  /** A new key: stored hashed; the key itself is in the answer only. */
  async create(scopeIn: unknown, createdBy: string, description?: unknown): Promise<CreatedKey> {
    const scope = parseScope(scopeIn);
    if (description !== undefined && (typeof description !== 'string' || description.length > MAX_DESCRIPTION)) {
      throw incorrect('auth/invalid-description', `A key description is a string of at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
    }
    let dbId: string | undefined;
    if (scope !== 'admin') {
      const rec = await this.catalog.getDatabase(scope.db);
      if (rec === undefined) throw notFound('db.error/db-not-found', `Database ${scope.db} does not exist`, { dbName: scope.db });
      dbId = rec.id;
    }
    for (;;) {
      const id = randomBytes(8).toString('hex');
      const key = `dlk.${id}.${randomBytes(32).toString('base64url')}`;
      const stored: StoredKey = {
        hash: digestHex(key),
        scope,
        ...(dbId !== undefined ? { dbId } : {}),
        createdAt: new Date(this.now()).toISOString(),
        createdBy,
        ...(description !== undefined ? { description } : {}),
      };
      // ifAbsent: an id collision (2^-64) takes another id rather than overwriting a key.
      if (await this.catalog.putRecord(KEY_PARTITION, id, { ...stored }, { ifAbsent: true })) {
        this.cache.delete(id);
        return { ...info(id, stored), key };
      }
    }
  }

  /** Every key; a scoped key whose database has been deleted is marked `databaseDeleted`. */
  async list(): Promise<KeyInfo[]> {
    const [records, databases] = await Promise.all([this.catalog.queryRecords(KEY_PARTITION), this.catalog.listDatabaseRecords()]);
    const byName = new Map(databases.map((d) => [d.name, d]));
    const out: KeyInfo[] = [];
    for (const r of records) {
      const k = storedKey(r.data);
      if (k !== undefined) out.push(info(r.sk, k, k.scope !== 'admin' && databaseGone(k, byName.get(k.scope.db))));
    }
    return out;
  }

  /** Deletes a key; true if it existed. Effective here at once, elsewhere within the cache TTL. */
  async revoke(id: unknown): Promise<boolean> {
    if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) {
      throw incorrect('auth/invalid-key-id', `A key id is 16 hex characters, got ${describeValue(id)}`, { field: 'id' });
    }
    const existed = (await this.catalog.getRecord(KEY_PARTITION, id)) !== undefined;
    await this.catalog.deleteRecord(KEY_PARTITION, id);
    this.cache.delete(id);
    return existed;
  }

  /**
   * The key's principal; undefined for an unknown key. A genuine key whose database has been
   * deleted since it was made throws `forbidden` (`auth/database-deleted`) naming that reason.
   */
  async authenticate(key: string): Promise<Principal | undefined> {
    const parsed = parseKey(key);
    if (parsed === undefined) return undefined;
    const found = await this.lookup(parsed.id);
    if (found === undefined || !sameDigest(key, found.stored.hash)) return undefined;
    const { scope } = found.stored;
    if (found.gone && scope !== 'admin') throw databaseDeletedError(scope.db);
    return principalFor(parsed.id, scope);
  }

  /** Forgets cached lookups (tests; a node that wants revocations to apply at once). */
  clearCache(): void {
    this.cache.clear();
  }

  private lookup(id: string): Promise<Lookup | undefined> {
    const now = this.now();
    const hit = this.cache.get(id);
    if (hit !== undefined && hit.expires > now) return hit.value;
    const value = this.read(id);
    this.cache.delete(id);
    this.cache.set(id, { expires: now + this.cacheTtlMs, value });
    // A failed lookup (storage unavailable) is not remembered.
    value.catch(() => {
      if (this.cache.get(id)?.value === value) this.cache.delete(id);
    });
    while (this.cache.size > KEY_CACHE_CAPACITY) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return value;
  }

  /** A key record and, for a scoped key, the record its database's name has now. */
  private async read(id: string): Promise<Lookup | undefined> {
    const data = await this.catalog.getRecord(KEY_PARTITION, id);
    const stored = data === undefined ? undefined : storedKey(data);
    if (stored === undefined || stored.scope === 'admin') return stored && { stored, gone: false };
    return { stored, gone: databaseGone(stored, await this.catalog.getDatabase(stored.scope.db)) };
  }
}
