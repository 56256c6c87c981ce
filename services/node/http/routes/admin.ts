/**
 * System administration (admin keys only; docs/http-api.md, docs/operations.md):
 *
 *   POST /v1/admin/gc-storage  { olderThan: "1d" | ms, dryRun?: boolean }  → the sweep's report
 *
 * Deletes index segments no current root reaches and older than `olderThan` (at least 1 h;
 * services/node/storage/segment-gc.ts). `unsupported` on a node without a segment store; `busy`
 * while this node is already sweeping.
 */
import { Router } from 'express';
import { busy, incorrect, unsupported } from '../../../engine';
import { collectSegmentGarbage, parseDuration } from '../../storage';
import { authorize, principalOf } from '../auth';
import { bodyOf, boolField } from '../body';
import { route } from '../errors';
import { sendWire, type RouteContext } from './context';

export const GC_STORAGE_PATH = '/admin/gc-storage';

export function adminRoutes(ctx: RouteContext): Router {
  const r = Router();
  let sweeping = false;

  r.post(GC_STORAGE_PATH, route(async (req, res) => {
    authorize(principalOf(res), { kind: 'admin' });
    const storage = ctx.segmentStorage;
    if (storage === undefined) {
      throw unsupported('gc/no-segment-store',
        'This node has no segment store (configure DATALITH_S3_ENDPOINT or DATALITH_SEGMENT_BUCKET), so it has no segments to collect');
    }
    const body = bodyOf(req);
    if (body.olderThan === undefined || body.olderThan === null) {
      throw incorrect('http/missing-field', 'The request body needs the field "olderThan": a duration such as "1d", or milliseconds', { field: 'olderThan' });
    }
    const olderThanMs = parseDuration(body.olderThan);
    const dryRun = boolField(body, 'dryRun') ?? false;
    if (sweeping) throw busy('gc/running', 'This node is already collecting segment garbage; wait for that sweep to finish');
    sweeping = true;
    try {
      const report = await collectSegmentGarbage({ ...storage, olderThanMs, dryRun });
      res.setHeader('cache-control', 'no-store');
      sendWire(res, report);
    } finally {
      sweeping = false;
    }
  }));

  return r;
}
