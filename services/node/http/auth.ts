/**
 * Access keys. Every /v1 request carries `Authorization: Bearer <key>`; the node turns the key
 * into a `Principal` and each route asks `authorize` whether that principal may do what it asks.
 *
 * Keys are compared as SHA-256 digests with `timingSafeEqual`, so neither the comparison's time
 * nor the stored form reveals the key. Two checks run in turn (`anyKeyCheck`): the admin key the
 * node was started with (`adminKeyCheck`), then the scoped keys stored hashed in the catalog
 * (services/node/keys.ts: admin, or one database read-write or read-only, bound to the database's
 * incarnation so that deleting the database ends the key). docs/security.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import type { NextFunction, Request, Response } from 'express';
import { DatalithError, describeValue, forbidden, incorrect, unavailable } from '../../engine';

export type Role = 'admin' | 'read-write' | 'read-only';

export interface Principal {
  /** A name for logs; never the key. */
  readonly keyId: string;
  readonly role: Role;
  /** The databases a scoped key applies to (absent for admin keys). */
  readonly databases?: readonly string[];
}

/** What a request wants to do: manage the system, or read or write one database. */
export type Action =
  | { readonly kind: 'admin' }
  | { readonly kind: 'list-databases' }
  | { readonly kind: 'read'; readonly db: string }
  | { readonly kind: 'write'; readonly db: string };

export interface AccessKeyCheck {
  /**
   * The principal a presented key belongs to, or undefined for an unknown key. May throw
   * `forbidden` to refuse a known key with its reason (a scoped key whose database was deleted).
   */
  authenticate(key: string): Promise<Principal | undefined>;
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Constant-time comparison of a presented key with a stored digest. */
export function keyMatches(key: string, digest: Buffer): boolean {
  const d = keyDigest(key);
  return d.length === digest.length && timingSafeEqual(d, digest);
}

/** Accepts exactly the given admin keys (held as digests). */
export function adminKeyCheck(adminKeys: readonly string[]): AccessKeyCheck {
  const digests = adminKeys.filter((k) => k.length > 0).map((k, i) => ({ digest: keyDigest(k), keyId: `admin-${i}` }));
  return {
    async authenticate(key) {
      let found: Principal | undefined;
      // Compare against every key, so the time does not depend on which one matched.
      for (const d of digests) if (keyMatches(key, d.digest) && found === undefined) found = { keyId: d.keyId, role: 'admin' };
      return found;
    },
  };
}

/** Tries each check in order (e.g. the admin key, then scoped keys from the catalog). */
export function anyKeyCheck(...checks: AccessKeyCheck[]): AccessKeyCheck {
  return {
    async authenticate(key) {
      for (const c of checks) {
        const p = await c.authenticate(key);
        if (p !== undefined) return p;
      }
      return undefined;
    },
  };
}

const BEARER = /^Bearer[ ]+([^\s]+)\s*$/i;

/** Express middleware: authenticates the bearer key into `res.locals.principal`, or `forbidden`. */
export function requireAccessKey(check: AccessKeyCheck) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      next(forbidden('auth/missing-key', 'This request needs an access key: send Authorization: Bearer <key>'));
      return;
    }
    const m = BEARER.exec(header);
    if (!m) {
      next(forbidden('auth/malformed-header', 'The Authorization header must be: Bearer <key>'));
      return;
    }
    check.authenticate(m[1]!).then(
      (principal) => {
        if (principal === undefined) {
          next(forbidden('auth/invalid-key', 'The access key is not valid'));
          return;
        }
        res.locals.principal = principal;
        next();
      },
      next,
    );
  };
}

/** Throws `forbidden` unless the principal may perform the action. */
export function authorize(principal: Principal | undefined, action: Action): void {
  if (principal === undefined) throw forbidden('auth/missing-key', 'This request needs an access key');
  if (principal.role === 'admin') return;
  switch (action.kind) {
    case 'admin':
      throw forbidden('auth/admin-only', 'This operation needs an admin access key');
    case 'list-databases':
      return;
    case 'read':
    case 'write': {
      const scoped = principal.databases === undefined || principal.databases.includes(action.db);
      if (!scoped) throw forbidden('auth/wrong-database', `This access key does not grant access to database ${action.db}`, { dbName: action.db });
      if (action.kind === 'write' && principal.role === 'read-only') {
        throw forbidden('auth/read-only', `This access key is read-only for database ${action.db}`, { dbName: action.db });
      }
      return;
    }
  }
}

/** The databases of `names` a principal may see (a scoped key sees only its own). */
export function visibleDatabases(principal: Principal | undefined, names: readonly string[]): string[] {
  if (principal === undefined) return [];
  if (principal.role === 'admin' || principal.databases === undefined) return [...names];
  const mine = new Set(principal.databases);
  return names.filter((n) => mine.has(n));
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

// ---- the admin key in AWS ----------------------------------------------------------------------

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/**
 * The string value of a Secrets Manager secret (in AWS the admin key lives there: the node's
 * role may read it). One signed `GetSecretValue` call with the node's own credentials — the
 * same ones its DynamoDB client uses. `endpoint` overrides the regional endpoint (tests).
 */
export async function readSecretString(
  arn: string,
  opts: { credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>; endpoint?: string },
): Promise<string> {
  const m = SECRET_ARN.exec(arn);
  if (!m) throw incorrect('config/invalid', `Configuration DATALITH_ADMIN_KEY_SECRET_ARN: received ${describeValue(arn)}; allowed: a Secrets Manager secret ARN`);
  const region = m[1]!;
  const client = new SecretsManagerClient({
    region,
    credentials: opts.credentials,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    maxAttempts: 3,
  });
  let out: { SecretString?: string };
  try {
    out = await client.send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
    const status = err.$metadata?.httpStatusCode;
    if (status !== undefined && status < 500) {
      throw new DatalithError('forbidden', `Secrets Manager refused GetSecretValue for the admin key (HTTP ${status}${err.name ? ` ${err.name}` : ''})`, 'config/secret-refused');
    }
    throw unavailable('config/secret-unreachable', `Cannot reach Secrets Manager in ${region}: ${err.message ?? String(e)}`);
  } finally {
    client.destroy();
  }
  const secret = out.SecretString;
  if (typeof secret !== 'string' || secret.trim() === '') {
    throw incorrect('config/secret-empty', 'The admin key secret has no string value');
  }
  return secret.trim();
}
