/**
 * `GET /health`: needs no key and touches no storage, so a storage outage does not make the
 * load balancer replace every node. Fails (503) while the node drains on shutdown.
 */
import { Router } from 'express';
import type { RouteContext } from './context';

export function healthRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    if (ctx.cluster?.selfUnhealthy) {
      res.status(503).json({ status: 'unhealthy', nodeId: ctx.nodeId });
      return;
    }
    if (ctx.lifecycle.draining) {
      res.status(503).json({ status: 'draining', nodeId: ctx.nodeId });
      return;
    }
    res.status(200).json({ status: 'ok', nodeId: ctx.nodeId });
  });
  return r;
}
