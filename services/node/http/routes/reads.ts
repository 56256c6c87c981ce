/**
 * Reads of a database value. Each body describes the value with `basisT` (the t the client has
 * seen: the node catches up to it first), `asOf`, `since`, `history` and `with` (speculative
 * transactions); see services/node/reads/db-values.ts. `q`, `pull`, `pull-many`, `with` and `stats`
 * run on the node's query workers when it has them (docs/adr/007-query-workers.md), and are
 * cancelled when their client goes away before the answer (`disconnectSignal`).
 *
 *   POST /v1/databases/:name/q           { query, args?, inputs?, timeout?, offset?, limit? } → { result }
 *   POST /v1/databases/:name/pull        { selector, eid }          → { result }
 *   POST /v1/databases/:name/pull-many   { selector, eids }         → { result }
 *   POST /v1/databases/:name/datoms      { index, components?, offset?, limit?, after? } → { datoms }
 *   POST /v1/databases/:name/index-range { attr, start?, end?, offset?, limit?, after? } → { datoms }
 *   POST /v1/databases/:name/tx-range    { start?, end?, offset?, limit?, asOfT? } → { txs: [{ t, data }], basisT }
 *   POST /v1/databases/:name/with        { txData }                 → { t, basisT, txData, tempids, instant }
 *   POST /v1/databases/:name/stats       {}                         → { datoms, attrs, t }
 *   POST /v1/databases/:name/sync        { t? }                     → { t }
 */
import { Router, type Response } from 'express';
import { type PageArgs, incorrect, fromWire } from '../../../engine';
import { authorize, principalOf, type Principal } from '../auth';
import { arrayField, bodyOf, intField, wireField, type Body } from '../body';
import { dbInput, parseDbSpec } from '../../reads/db-values';
import { route } from '../errors';
import type { QueryInput } from '../operations';
import { encodeResponse } from '../../reads/query-job';
import { sendJsonText, sendWire, type RouteContext } from './context';

export function readRoutes(ctx: RouteContext): Router {
  const r = Router();
  /** Answers a read, refused above the response size limit (docs/limits.md). */
  const send = (res: Parameters<typeof sendWire>[0], value: unknown): void => {
    sendJsonText(res, encodeResponse(value, ctx.limits.maxResponseBytes));
  };
  /** Answers JSON text a read job produced (on a query worker, or here without workers). */
  const sendText = sendJsonText;
  const spec = (body: Body) => parseDbSpec(body, ctx.limits.maxWithChain);
  const readable = (res: Parameters<typeof principalOf>[0], name: string): void => authorize(principalOf(res), { kind: 'read', db: name });

  r.post('/databases/:name/q', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    const query = wireField(body, 'query', true);
    const principal = principalOf(res);
    const decode = (x: unknown): QueryInput => decodeQueryInput(x, name, principal, ctx.limits.maxWithChain);
    const all = arrayField(body, 'inputs');
    const inputs = all !== undefined
      ? all.map(decode)
      : [{ db: { name, spec: spec(body) } }, ...(arrayField(body, 'args') ?? []).map(decode)];
    // Evaluated on a query worker when the node has them (docs/adr/007-query-workers.md).
    sendText(res, await ctx.ops.qText(query, inputs, {
      timeout: intField(body, 'timeout', { min: 1 }),
      offset: intField(body, 'offset'),
      limit: intField(body, 'limit', { min: -1 }),
    }, disconnectSignal(res)));
  }));

  r.post('/databases/:name/pull', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    sendText(res, await ctx.ops.pullText('pull', name, spec(body), wireField(body, 'selector', true), wireField(body, 'eid', true), disconnectSignal(res)));
  }));

  r.post('/databases/:name/pull-many', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    sendText(res, await ctx.ops.pullText('pull-many', name, spec(body), wireField(body, 'selector', true), wireField(body, 'eids', true), disconnectSignal(res)));
  }));

  r.post('/databases/:name/datoms', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    const components = (arrayField(body, 'components') ?? []).map((x) => fromWire(x));
    send(res, { datoms: await ctx.ops.datoms(name, spec(body), wireField(body, 'index', true), components, pageOf(body)) });
  }));

  r.post('/databases/:name/index-range', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    const datoms = await ctx.ops.indexRange(name, spec(body), wireField(body, 'attr', true), wireField(body, 'start'), wireField(body, 'end'), pageOf(body));
    send(res, { datoms });
  }));

  r.post('/databases/:name/tx-range', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    const page = { offset: body.offset, limit: body.limit, asOfT: intField(body, 'asOfT') };
    send(res, await ctx.ops.txRange(name, intField(body, 'basisT'), wireField(body, 'start'), wireField(body, 'end'), page));
  }));

  r.post('/databases/:name/with', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    const body = bodyOf(req);
    sendText(res, await ctx.ops.withText(name, spec(body), wireField(body, 'txData', true), disconnectSignal(res)));
  }));

  r.post('/databases/:name/stats', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    sendText(res, await ctx.ops.statsText(name, spec(bodyOf(req)), disconnectSignal(res)));
  }));

  r.post('/databases/:name/sync', route(async (req, res) => {
    const name = req.params.name!;
    readable(res, name);
    sendWire(res, await ctx.ops.sync(name, intField(bodyOf(req), 't')));
  }));

  return r;
}

/**
 * A signal that aborts when the response closes before it was finished: the client went away
 * (its request aborted, its connection closed). The read it asked for is then cancelled, so it
 * does not keep a query worker busy until its timeout.
 */
function disconnectSignal(res: Response): AbortSignal {
  const abort = new AbortController();
  if (res.destroyed) abort.abort();
  else {
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
  }
  return abort.signal;
}

/**
 * The page fields of datoms and index-range: `offset`, `limit` and `after` (the last datom of the
 * page before), checked by the engine (services/engine/api.ts) as for the in-process client.
 */
function pageOf(body: Body): PageArgs {
  return { offset: body.offset, limit: body.limit, after: wireField(body, 'after') };
}

/** A query input: `{ "#db": { name?, basisT?, … } }` is a database value, anything else a value. */
function decodeQueryInput(x: unknown, defaultName: string, principal: Principal | undefined, maxWithChain: number): QueryInput {
  const d = dbInput(x);
  if (d === undefined) return { value: fromWire(x) };
  const name = d.name ?? defaultName;
  if (typeof name !== 'string') throw incorrect('http/invalid-field', 'A {"#db": …} input names its database with a string "name"');
  authorize(principal, { kind: 'read', db: name });
  return { db: { name, spec: parseDbSpec(d, maxWithChain, `database ${name}`) } };
}
