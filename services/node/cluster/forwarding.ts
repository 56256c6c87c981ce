/**
 * What the node's HTTP app plugs in to use the cluster (services/node/cluster/cluster.ts):
 *
 * - `transactOnPreferred`: the transact route's decision — commit here, or forward to the
 *   database's preferred node and relay its answer; commit here anyway when the preferred node
 *   cannot be reached (or answers `unavailable`/`interrupted`). The request always carries a
 *   transaction id before it is forwarded, so a forwarded transaction that *did* arrive and a
 *   local fallback commit of it can never both commit.
 * - `notifyRoutes`: `POST /v1/internal/notify {db, t, from}` — another node committed `t`;
 *   catch up now if the database is loaded here and behind. Answers 204 at once.
 * - `clusterNodeOptions`: `preferredNodeFor` and `clusterNodes` for `startNode`/`createNodeApp`.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { incorrect, unavailable, ATTEMPT_HEADER } from '../../engine';
import { FORWARDED_HEADER, isForwardError, NOTIFY_PATH, rendezvousRank, type Cluster, type ClusterMember, type ClusterNodeView } from './cluster';

export interface TransactRequest {
  dbName: string;
  /** The path to call on the preferred node (normally the incoming `req.originalUrl`). */
  path: string;
  /** The parsed JSON body `{ txData, txId? }` (a `txId` is added when absent). */
  body: Record<string, unknown>;
  /** The incoming headers (authorization travels with the forwarded request). */
  headers: Record<string, string | string[] | undefined>;
  /**
   * Commit on this node with this transaction id; `inDoubt` when it was forwarded and may have
   * reached the preferred node (which may then still commit it).
   */
  commitLocally: (txId: string, inDoubt: boolean) => Promise<unknown>;
  /**
   * Whether this node has the database loaded (its log replayed), starting the load when not;
   * absent: loaded. A node still loading passes transactions on rather than hold them.
   */
  loaded?: () => boolean;
}

export type TransactOutcome =
  | { kind: 'local'; value: unknown; txId: string; reason: 'preferred' | 'already-forwarded' | 'single-node' | 'forward-failed' | 'preferred-unavailable' | 'preferred-unresponsive' }
  | { kind: 'forwarded'; node: string; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; txId: string };

/** Categories a preferred node answers when it cannot take the transaction (then: commit here). */
const FALLBACK_CATEGORIES = new Set(['unavailable', 'interrupted']);

function anomalyCategory(body: Buffer): string | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as { category?: unknown };
    return typeof v.category === 'string' ? v.category : undefined;
  } catch {
    return undefined;
  }
}

export async function transactOnPreferred(cluster: Cluster, req: TransactRequest): Promise<TransactOutcome> {
  const given = req.body['txId'];
  const chosen = typeof given === 'string' && given.length > 0;
  const txId = chosen ? given : randomUUID();
  const local = async (reason: Extract<TransactOutcome, { kind: 'local' }>['reason']): Promise<TransactOutcome> =>
    ({ kind: 'local', value: await req.commitLocally(txId, reason === 'forward-failed' || reason === 'preferred-unavailable'), txId, reason });

  const forwardedBy = req.headers[FORWARDED_HEADER];
  const several = cluster.liveNodes().length > 1;
  if (forwardedBy !== undefined && forwardedBy !== '') {
    // Still replaying the database's log here (this node just joined, say): the sender commits
    // it rather than wait — otherwise a joining node stalls every write to the databases it
    // becomes preferred for, for as long as their logs take to replay.
    if (several && req.loaded?.() === false) {
      throw unavailable('cluster/loading', `Database ${req.dbName} is still loading on node ${cluster.nodeId}`, { node: cluster.nodeId });
    }
    return local('already-forwarded');
  }
  if (!several) return local('single-node');
  let preferred = cluster.preferredNode(req.dbName);
  if (!preferred.self && cluster.isSuspect(preferred.url)) {
    // Its last forward failed and it has not answered a health check since: skip it.
    preferred = cluster.responsiveNode(req.dbName);
    if (preferred.self) return local('preferred-unresponsive');
  }
  if (preferred.self) {
    if (req.loaded?.() !== false) return local('preferred');
    // Loading here: the next node in preference order commits meanwhile.
    const next = nextPeerFor(cluster, req.dbName);
    if (next === undefined) return local('preferred');
    preferred = next;
  }
  let res;
  try {
    // An id made here is made for this one call, as the SDK's are.
    res = await cluster.forward(preferred.url, req.path, JSON.stringify({ ...req.body, txId, ...(chosen ? {} : { txIdGenerated: true }) }), {
      authorization: req.headers['authorization'],
      [ATTEMPT_HEADER]: req.headers[ATTEMPT_HEADER],
    });
  } catch (e) {
    if (isForwardError(e)) return local('forward-failed');
    throw e;
  }
  if (res.status === 503 && FALLBACK_CATEGORIES.has(anomalyCategory(res.body) ?? 'unavailable')) return local('preferred-unavailable');
  return { kind: 'forwarded', node: preferred.id, status: res.status, headers: res.headers, body: res.body, txId };
}

/** Relay a forwarded answer as the response (status, content type, body as sent). */
export function sendForwarded(res: Response, out: Extract<TransactOutcome, { kind: 'forwarded' }>): void {
  relay(res, out.status, out.headers, out.body, 'x-datalith-committed-by', out.node);
}

/** The read operations under `/v1/databases/:name/` a loading node passes on. */
const READ_OPERATIONS = new Set(['q', 'pull', 'pull-many', 'datoms', 'index-range', 'tx-range', 'with', 'stats', 'sync']);

/** Where the read forwarding handler sits under `/v1`. */
export const READ_FORWARDING_PATH = '/databases/:name/:operation';

/** Header naming the node that served a read passed on by a loading node. */
export const SERVED_BY_HEADER = 'x-datalith-served-by';

export interface ReadForwarding {
  readonly cluster: () => Cluster | undefined;
  /** Whether the database is loaded here, starting the load when not (as for transactions). */
  readonly loaded: (name: string) => boolean;
  /** How long a passed-on read may take (the longest query timeout, plus a margin). */
  readonly timeoutMs: number;
}

/**
 * Reads of a database this node has not loaded yet (it just joined, or has never served that
 * database) go to a node that has: the preferred node, or the next one in preference order when
 * that is this node. Meanwhile this node loads the database in the background, so a replacement
 * node taking its share of the load balancer's traffic answers at once instead of holding reads
 * for the whole replay of a long log. A read that was already passed on is served where it
 * arrives (waiting for the load), and so is one whose peer cannot be reached.
 * Register on the `/v1` router at `READ_FORWARDING_PATH`, after the access-key check and the
 * body parser.
 */
export function forwardReadsWhileLoading(opts: ReadForwarding): RequestHandler {
  return (req: Request, res: Response, next) => {
    const cluster = opts.cluster();
    const name = req.params.name!;
    if (cluster === undefined || !READ_OPERATIONS.has(req.params.operation!)) return next();
    const forwardedBy = req.headers[FORWARDED_HEADER];
    if ((forwardedBy !== undefined && forwardedBy !== '') || opts.loaded(name)) return next();
    const peer = nextPeerFor(cluster, name);
    if (peer === undefined) return next();
    cluster.forward(peer.url, req.originalUrl, JSON.stringify(req.body ?? {}), { authorization: req.headers['authorization'] }, { timeoutMs: opts.timeoutMs })
      .then((out) => relay(res, out.status, out.headers, out.body, SERVED_BY_HEADER, peer.id), (e: unknown) => (isForwardError(e) ? next() : next(e)));
  };
}

/** The first live node other than this one in a database's preference order, if any. */
function nextPeerFor(cluster: Cluster, dbName: string): ClusterMember | undefined {
  const live = cluster.liveNodes();
  const id = rendezvousRank(live.map((m) => m.id), dbName).find((x) => x !== cluster.nodeId);
  return live.find((m) => m.id === id);
}

/** Relay an answer another node gave (status, content type, body as sent), naming that node. */
function relay(res: Response, status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, header: string, node: string): void {
  const type = headers['content-type'];
  res.status(status);
  res.setHeader('content-type', typeof type === 'string' ? type : 'application/json');
  res.setHeader(header, node);
  res.send(body);
}

/** The part of `Databases` the notify route needs. */
export interface NotifiableDatabases {
  loaded(): string[];
  host(name: string): Promise<{ db: { t: number }; catchUp(): Promise<unknown> }>;
}

/**
 * `POST /internal/notify` (mount under `/v1`, behind the access-key check and the JSON body
 * parser): `{ db, t, from? }`. Catches the database up in the background if it is loaded here
 * and behind `t`; databases not loaded here are ignored (they load from the log on first use).
 * Always 204 for a well-formed body.
 */
export function notifyRoutes(databases: NotifiableDatabases, opts: { onError?: (e: unknown, db: string) => void } = {}): Router {
  const r = Router();
  const path = NOTIFY_PATH.replace(/^\/v1/, '');
  r.post(path, (req: Request, res: Response, next) => {
    const b = req.body as { db?: unknown; t?: unknown } | undefined;
    if (b === null || typeof b !== 'object' || typeof b.db !== 'string' || b.db === '' || typeof b.t !== 'number' || !Number.isSafeInteger(b.t) || b.t < 0) {
      next(incorrect('http/invalid-notification', 'a notification is { db: string, t: integer, from?: string }'));
      return;
    }
    const db = b.db;
    const t = b.t;
    res.status(204).end();
    if (!databases.loaded().includes(db)) return;
    void databases.host(db)
      .then((h) => (h.db.t < t ? h.catchUp() : undefined))
      .catch((e: unknown) => opts.onError?.(e, db));
  });
  return r;
}

/** `preferredNodeFor` and `clusterNodes` options for `startNode` / `createNodeApp`. */
export function clusterNodeOptions(cluster: Cluster): {
  preferredNodeFor: (name: string) => string;
  clusterNodes: () => Promise<readonly ClusterNodeView[]>;
} {
  return {
    preferredNodeFor: (name) => cluster.preferredNodeId(name),
    clusterNodes: async () => cluster.clusterNodes(),
  };
}
