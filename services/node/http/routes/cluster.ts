/** `GET /v1/cluster`: the nodes of the system as this node sees them. `GET /v1/status`: this node's memory, segment cache and indexing. */
import { Router } from 'express';
import { route } from '../errors';
import { sendWire, type RouteContext } from './context';

export function clusterRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/cluster', route(async (_req, res) => {
    sendWire(res, { nodes: await ctx.clusterNodes() });
  }));
  r.get('/status', route(async (_req, res) => {
    sendWire(res, await ctx.ops.status());
  }));
  return r;
}
