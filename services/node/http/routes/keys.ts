/**
 * Access-key administration (admin keys only; docs/security.md):
 *
 *   POST   /v1/keys  { scope, description? } → 201 { id, key, scope, dbId?, createdAt, createdBy, description? }
 *                     scope: "admin" | { db, access: "read-write" | "read-only" }; `key` is shown this once;
 *                     a scoped key is bound to the database's current incarnation `dbId` (404 if none)
 *   GET    /v1/keys                          → { keys: [{ id, scope, dbId?, createdAt, createdBy, description?, databaseDeleted? }] }
 *   DELETE /v1/keys/:id                      → { id, revoked }
 */
import { Router } from 'express';
import { authorize, principalOf } from '../auth';
import { bodyOf } from '../body';
import { route } from '../errors';
import type { KeyStore } from '../../keys';
import { sendWire } from './context';

export function keyRoutes(keys: KeyStore): Router {
  const r = Router();

  r.post('/keys', route(async (req, res) => {
    const principal = principalOf(res);
    authorize(principal, { kind: 'admin' });
    const body = bodyOf(req);
    const created = await keys.create(body.scope, principal!.keyId, body.description);
    res.setHeader('cache-control', 'no-store');
    sendWire(res, created, 201);
  }));

  r.get('/keys', route(async (_req, res) => {
    authorize(principalOf(res), { kind: 'admin' });
    sendWire(res, { keys: await keys.list() });
  }));

  r.delete('/keys/:id', route(async (req, res) => {
    authorize(principalOf(res), { kind: 'admin' });
    const id = req.params.id!;
    sendWire(res, { id, revoked: await keys.revoke(id) });
  }));

  return r;
}
