/**
 * Databases: list, create, delete, and describe one (`{ name, t, preferredNode }`).
 *
 *   GET    /v1/databases                 → { databases: [name, …] }
 *   POST   /v1/databases   { name }      → { name, created }   (201 when created, 200 when it existed)
 *   GET    /v1/databases/:name?basisT=t  → { name, t, preferredNode }
 *   DELETE /v1/databases/:name           → { name, deleted }
 *
 * Deleting a database also ends the scoped keys bound to it: they are refused from then on,
 * even once the name is created again (services/node/keys.ts).
 */
import { Router } from 'express';
import { authorize, principalOf, visibleDatabases } from '../auth';
import { bodyOf, intParam, stringField } from '../body';
import { route } from '../errors';
import { sendWire, type RouteContext } from './context';

export function databaseRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/databases', route(async (_req, res) => {
    const principal = principalOf(res);
    authorize(principal, { kind: 'list-databases' });
    // A scoped key sees only the databases it grants access to.
    sendWire(res, { databases: visibleDatabases(principal, await ctx.ops.listDatabases()) });
  }));

  r.post('/databases', route(async (req, res) => {
    authorize(principalOf(res), { kind: 'admin' });
    const name = stringField(bodyOf(req), 'name', true);
    const out = await ctx.ops.createDatabase(name);
    sendWire(res, out, out.created ? 201 : 200);
  }));

  r.get('/databases/:name', route(async (req, res) => {
    const name = req.params.name!;
    authorize(principalOf(res), { kind: 'read', db: name });
    const dbId = typeof req.query['dbId'] === 'string' ? req.query['dbId'] : undefined;
    sendWire(res, await ctx.ops.describeDatabase(name, intParam(req, 'basisT'), dbId));
  }));

  // Like Datomic's requestIndex: starts an indexing job now (answers at once; poll the
  // database's indexedT). Needs write access to the database.
  r.post('/databases/:name/request-index', route(async (req, res) => {
    const name = req.params.name!;
    authorize(principalOf(res), { kind: 'write', db: name });
    sendWire(res, await ctx.ops.requestIndex(name), 202);
  }));

  r.delete('/databases/:name', route(async (req, res) => {
    authorize(principalOf(res), { kind: 'admin' });
    const name = req.params.name!;
    const r = await ctx.ops.deleteDatabase(name);
    sendWire(res, { name: r.name, deleted: r.deleted });
    // The other nodes read the closing entry now rather than at their next poll.
    if (r.closedAt !== null) ctx.cluster?.notify(name, r.closedAt);
  }));

  return r;
}
