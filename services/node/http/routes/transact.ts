/**
 * `POST /v1/databases/:name/transact` `{ txData, txId?, txIdGenerated? }` → `{ t, basisT, txData,
 * tempids, duplicate }`. `txData` is EDN text or wire-encoded JS data; `txId` is the idempotency
 * key a retrying client sends again (a retry of a committed id answers the original result with
 * `duplicate: true` and commits nothing). A `txId` the caller chose may be sent by several
 * callers at once, so its refusal is written to the log before it is answered (every caller
 * gets the same answer); `txIdGenerated: true` says the id was made for this one call (the SDK
 * does so), and a first attempt is then refused without a log write.
 */
import type { RequestHandler } from 'express';
import { incorrect, transactionTooLarge, ATTEMPT_HEADER, checkClientTxId } from '../../../engine';
import { MAX_TX_DATOMS } from '../../log/transactor';
import { authorize, principalOf } from '../auth';
import { bodyOf, boolField, stringField, wireField } from '../body';
import { route } from '../errors';
import { sendWire, type RouteContext } from './context';
import { sendForwarded, transactOnPreferred } from '../../cluster/forwarding';

const TX_ID = /^[\x21-\x7e]{1,128}$/;

/** The route's path, under `/v1`. */
export const TRANSACT_PATH = '/databases/:name/transact';

/**
 * The handler, registered directly on the `/v1` router (`v1.post(TRANSACT_PATH, …)`): the
 * hottest route skips the per-request work of a nested router.
 */
export function transactHandler(ctx: RouteContext): RequestHandler {
  return route(async (req, res) => {
    const name = req.params.name!;
    authorize(principalOf(res), { kind: 'write', db: name });
    const body = bodyOf(req);
    // Refused before it is decoded: every form names at least one datom.
    const raw = body['txData'];
    if (Array.isArray(raw) && raw.length > MAX_TX_DATOMS) throw transactionTooLarge(raw.length, 'forms', MAX_TX_DATOMS);
    const txData = wireField(body, 'txData', true);
    const txId = stringField(body, 'txId');
    if (txId !== undefined && !TX_ID.test(txId)) {
      throw incorrect('http/invalid-tx-id', 'txId must be 1-128 printable ASCII characters without spaces (a UUID is a good choice)', { field: 'txId' });
    }
    if (txId !== undefined) checkClientTxId(txId);
    const generated = boolField(body, 'txIdGenerated') === true;
    // A retry: an earlier attempt of this transaction may have committed, or may still. A
    // caller-chosen id: another copy may be in flight.
    const attempt = Number(req.headers[ATTEMPT_HEADER] ?? 1);
    const inDoubt = (Number.isFinite(attempt) && attempt > 1) || (txId !== undefined && !generated);
    const cluster = ctx.cluster;
    if (!cluster) {
      sendWire(res, await ctx.ops.transact(name, txData, txId, { inDoubt }));
      return;
    }
    // The preferred node commits when it can be reached; otherwise this node does. The
    // transaction id makes a forwarded transaction and a local fallback commit it once.
    const out = await transactOnPreferred(cluster, {
      dbName: name,
      path: req.originalUrl,
      body: { txData: body['txData'], ...(txId !== undefined ? { txId } : {}), ...(generated ? { txIdGenerated: true } : {}) },
      headers: req.headers,
      commitLocally: (id, forwardInDoubt) => ctx.ops.transact(name, txData, id, { inDoubt: inDoubt || forwardInDoubt }),
      loaded: () => ctx.ops.readyOrLoad(name),
    });
    if (out.kind === 'forwarded') {
      sendForwarded(res, out);
      return;
    }
    const result = out.value as { t: number; duplicate: boolean };
    sendWire(res, result);
    if (!result.duplicate) cluster.notify(name, result.t);
  });
}
