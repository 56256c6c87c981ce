/** `GET /v1/cluster`: the nodes of the system as this node sees them. `GET /v1/status`: this node's memory, segment cache and indexing, and the databases the key may see. */
import { Router } from 'express';
import { principalOf, visibleDatabases } from '../auth';
import { route } from '../errors';
import { sendWire, type RouteContext } from './context';

export function clusterRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/cluster', route(async (_req, res) => {
    sendWire(res, { nodes: await ctx.clusterNodes() });
  }));
  r.get('/status', route(async (_req, res) => {
    const status = await ctx.ops.status();
    // A key scoped to databases sees only theirs, as in the listing of databases.
    const visible = visibleDatabases(principalOf(res), Object.keys(status.databases));
    sendWire(res, { ...status, databases: Object.fromEntries(visible.map((name) => [name, status.databases[name]])) });
  }));
  return r;
}
