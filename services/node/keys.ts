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
 * The admin key the node is started with (the local cluster's `<data-dir>/access-key`, the
 * Secrets Manager secret in AWS) is separate: it is not in the catalog and cannot be revoked
 * through the API (auth.ts, `adminKeyCheck`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { checkDatabaseName } from '../client/local';
import { describeValue, incorrect, notFound } from '../engine/errors';
import type { AccessKeyCheck, Principal } from './auth';
import { DEFAULT_KEY_CACHE_TTL_MS } from './config';
import type { CatalogStore } from './storage/catalog-store';

export type KeyAccess = 'read-write' | 'read-only';
export type KeyScope = 'admin' | { readonly db: string; readonly access: KeyAccess };

/** What `listKeys` shows of a key: never the key or its digest. */
export interface KeyInfo {
  readonly id: string;
  readonly scope: KeyScope;
  /** ISO-8601. */
  readonly createdAt: string;
  /** The key id of the admin who created it (`admin-0` for the node's admin key). */
  readonly createdBy: string;
  readonly description?: string;
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
    createdAt: typeof data.createdAt === 'string' ? data.createdAt : '',
    createdBy: typeof data.createdBy === 'string' ? data.createdBy : '',
    ...(typeof data.description === 'string' ? { description: data.description } : {}),
  };
}

function info(id: string, k: StoredKey): KeyInfo {
  return { id, scope: k.scope, createdAt: k.createdAt, createdBy: k.createdBy, ...(k.description !== undefined ? { description: k.description } : {}) };
}

interface CacheEntry {
  readonly expires: number;
  readonly value: Promise<StoredKey | undefined>;
}

export interface KeyStoreOptions {
  /** How long a lookup (found or not) is reused; the bound on revocation elsewhere. */
  readonly cacheTtlMs?: number;
  /** Whether a database exists (key creation refuses keys for unknown databases). */
  readonly databaseExists?: (name: string) => Promise<boolean>;
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
  }

  /** A new key: stored hashed; the key itself is in the answer only. */
  async create(scopeIn: unknown, createdBy: string, description?: unknown): Promise<CreatedKey> {
    const scope = parseScope(scopeIn);
    if (description !== undefined && (typeof description !== 'string' || description.length > MAX_DESCRIPTION)) {
      throw incorrect('auth/invalid-description', `A key description is a string of at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
    }
    if (scope !== 'admin' && this.opts.databaseExists && !(await this.opts.databaseExists(scope.db))) {
      throw notFound('db.error/db-not-found', `Database ${scope.db} does not exist`, { dbName: scope.db });
    }
    for (;;) {
      const id = randomBytes(8).toString('hex');
      const key = `dlk.${id}.${randomBytes(32).toString('base64url')}`;
      const stored: StoredKey = {
        hash: digestHex(key),
        scope,
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

  async list(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    for (const r of await this.catalog.queryRecords(KEY_PARTITION)) {
      const k = storedKey(r.data);
      if (k !== undefined) out.push(info(r.sk, k));
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

  async authenticate(key: string): Promise<Principal | undefined> {
    const parsed = parseKey(key);
    if (parsed === undefined) return undefined;
    const stored = await this.lookup(parsed.id);
    if (stored === undefined || !sameDigest(key, stored.hash)) return undefined;
    return principalFor(parsed.id, stored.scope);
  }

  /** Forgets cached lookups (tests; a node that wants revocations to apply at once). */
  clearCache(): void {
    this.cache.clear();
  }

  private lookup(id: string): Promise<StoredKey | undefined> {
    const now = this.now();
    const hit = this.cache.get(id);
    if (hit !== undefined && hit.expires > now) return hit.value;
    const value = this.catalog.getRecord(KEY_PARTITION, id).then((d) => (d === undefined ? undefined : storedKey(d)));
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
}
