/**
 * Cluster membership, the preferred node per database, forwarding and notifications
 * (docs/adr/004-cluster-membership-and-local-cluster.md).
 *
 * - **Membership.** Every node heartbeats into the catalog table (`pk node`, `sk <nodeId>`,
 *   `{ info: { url, pid, instanceId? }, at, expiresAt }`) every `heartbeatIntervalMs` (500) with a
 *   `ttlMs` (2000), and reads the live set back on the same beat. A node is live while its
 *   heartbeat keeps advancing: liveness is judged by when *this* node saw the `at` value change,
 *   so clock skew between machines does not matter (the writer's `expiresAt` is used only on
 *   first sight). This node is always live to itself. In AWS (`asg` option, built from
 *   `DATALITH_ASG_NAME` by `clusterOptionsFromEnv`) the live set is also filtered by the Auto
 *   Scaling Group's InService instances, and `reportUnhealthy` calls `SetInstanceHealth`.
 * - **Preferred node** of a database: rendezvous (highest random weight) hashing of
 *   (node id, database name) over the live nodes. Adding or removing a node moves only the
 *   databases that node wins or held. Correctness never depends on it — only the conditional
 *   append serializes writes; the preferred node only makes contention rare.
 * - **Forwarding** (`forward`): an HTTP request to another node with a short connect timeout
 *   (200 ms). A forward without response headers after `livenessCheckAfterMs` (150) checks the
 *   peer's `/health` (`probeTimeoutMs`, 250; one check per peer at a time): a peer that does not
 *   answer it (paused, hung) fails the forward at once instead of after `forwardTimeoutMs`.
 *   A peer whose forward failed is *suspected* until a health check answers again (rechecked
 *   every `probeIntervalMs`, 250, while it is consulted); `responsiveNode` skips suspects. A `ForwardError` says whether the request may have reached the node
 *   (`reached`); in both cases the caller may commit the transaction itself, because the
 *   transaction id makes a second commit of the same transaction impossible.
 * - **Notifications** (`notify`): fire-and-forget `POST /v1/internal/notify {db, t, from}` to
 *   every other live node after a commit, coalesced per (node, database); nodes also poll the
 *   log, so a lost notification only delays.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { DatalithError } from '../../engine';
import type { NodeRecord } from '../storage';

/** The path other nodes are notified on. */
export const NOTIFY_PATH = '/v1/internal/notify';
/** Set on a forwarded request (value: the forwarding node's id); its receiver must not forward again. */
export const FORWARDED_HEADER = 'x-datalith-forwarded-by';

/** The part of `CatalogStore` membership needs. */
export interface MembershipStore {
  heartbeat(nodeId: string, info: Record<string, unknown>, ttlMs: number): Promise<unknown>;
  listNodes(opts?: { includeExpired?: boolean; now?: number }): Promise<NodeRecord[]>;
  removeNode(nodeId: string): Promise<void>;
}

/** The Auto Scaling Group, in AWS (see cluster-aws.ts). */
export interface AsgMembership {
  /** This instance's id. */
  readonly instanceId: string;
  /** Instance ids the group has InService. */
  inServiceInstanceIds(): Promise<ReadonlySet<string>>;
  /** Ask the group to replace this instance. */
  setSelfUnhealthy(reason: string): Promise<void>;
}

/** pino-compatible. */
export interface ClusterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ClusterOptions {
  nodeId: string;
  /** How other nodes reach this one, e.g. `http://10.0.1.17:8080`. */
  url: string;
  store: MembershipStore;
  /** Default `process.pid`. */
  pid?: number;
  /** More fields for the heartbeat's info. */
  info?: Record<string, unknown>;
  heartbeatIntervalMs?: number;
  ttlMs?: number;
  /** Filter by the Auto Scaling Group (AWS). */
  asg?: AsgMembership;
  /** How often the group's InService set is read (default 5000 ms; the API is rate-limited). */
  asgRefreshMs?: number;
  /** `Authorization` header value for node-to-node requests (e.g. `Bearer <admin key>`). */
  authorization?: string;
  /** Connect timeout of forwarded requests (default 200 ms). */
  connectTimeoutMs?: number;
  /**
   * Time to the response headers of a forwarded request (default 2 s): a hung preferred node
   * (SIGSTOP, GC pause) then costs at most this before the sender commits itself.
   */
  forwardTimeoutMs?: number;
  /** A forward without response headers this long checks the peer's liveness (default 150 ms). */
  livenessCheckAfterMs?: number;
  /** Time a liveness check (`GET /health`) may take (default 250 ms). */
  probeTimeoutMs?: number;
  /** How often a suspected peer is checked again while it is consulted (default 250 ms). */
  probeIntervalMs?: number;
  /** Whole-request timeout of a notification (default 1000 ms). */
  notifyTimeoutMs?: number;
  /** Remove heartbeats expired longer than this (default 10 min; 0: never). */
  sweepExpiredAfterMs?: number;
  /**
   * Optional self check, run on every beat: `selfCheckFailures` (3) failures in a row make the
   * node report itself unhealthy (`reportUnhealthy`).
   */
  selfCheck?: () => boolean | Promise<boolean>;
  selfCheckFailures?: number;
  logger?: ClusterLogger;
  /** Fault injection: node-to-node requests fail while this says so (default: from the environment, forwardingCutFrom). */
  readonly forwardingCut?: () => boolean;
  /** The clock heartbeat ages are measured on (default `performance.now()`; tests move it). */
  monotonicNow?: () => number;
}

export interface ClusterMember {
  id: string;
  url: string;
  pid: number | undefined;
  instanceId: string | undefined;
  self: boolean;
  /** Epoch ms of the member's last heartbeat (its clock). */
  heartbeatAt: number;
}

/** The shape of `GET /v1/cluster`'s entries. */
export interface ClusterNodeView {
  id: string;
  url: string;
  pid?: number;
  healthy: boolean;
}

export interface ForwardOptions {
  method?: string;
  connectTimeoutMs?: number;
  /** Time to response headers (default `forwardTimeoutMs`). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ClusterStats {
  heartbeats: number;
  heartbeatFailures: number;
  refreshFailures: number;
  forwards: number;
  forwardFailures: number;
  notifiesSent: number;
  notifyFailures: number;
  lastRefreshAt: number | undefined;
}

/** A forwarded request that failed. `reached`: it may have arrived at the other node. */
export class ForwardError extends DatalithError {
  constructor(readonly node: string, readonly reached: boolean, cause: string, errCode: string) {
    super('unavailable', `forwarding to ${node} failed${reached ? ' after the request was sent' : ''}: ${cause}`,
      'cluster/forward-failed', { node, reached, cause: errCode });
  }
}

export function isForwardError(e: unknown): e is ForwardError {
  return e instanceof ForwardError;
}

/**
 * Fault injection (the fault suite, docs/faults.md; never set in production): node-to-node
 * requests — forwarded transactions and notifications — fail as if the network between nodes
 * were cut (connection refused), so every node commits what it receives itself.
 * `DATALITH_FORWARDING=off` cuts them for the process's lifetime; `DATALITH_FORWARDING_OFF_FILE`
 * names a file whose existence cuts them (checked on every request, so a test can cut and heal
 * a running cluster). The environment is read once, when the cluster is made.
 */
export function forwardingCutFrom(env: NodeJS.ProcessEnv): () => boolean {
  if (env['DATALITH_FORWARDING'] === 'off') return () => true;
  const file = env['DATALITH_FORWARDING_OFF_FILE'];
  if (file === undefined || file === '') return () => false;
  return () => existsSync(file);
}

function cutError(nodeUrl: string): ForwardError {
  return new ForwardError(nodeUrl, false, 'node-to-node requests are cut (DATALITH_FORWARDING fault injection)', 'ECONNREFUSED');
}

// ---- rendezvous hashing ----

function fnv1a(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The weight of `nodeId` for `key`: a well-mixed 53-bit integer, the same on every node. */
export function rendezvousScore(nodeId: string, key: string): number {
  const s = `${nodeId}\u0000${key}`;
  const hi = fmix32(fnv1a(s, 0x811c9dc5));
  const lo = fmix32(fnv1a(s, 0x9747b28c) ^ 0x5bd1e995);
  return hi * 2 ** 21 + (lo >>> 11);
}

/** Node ids ordered by preference for `key` (best first). */
export function rendezvousRank(nodeIds: readonly string[], key: string): string[] {
  return nodeIds
    .map((id) => ({ id, w: rendezvousScore(id, key) }))
    .sort((a, b) => b.w - a.w || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.id);
}

/** The preferred node id for `key` among `nodeIds` (undefined for none). */
export function rendezvousOwner(nodeIds: readonly string[], key: string): string | undefined {
  let best: string | undefined;
  let bestW = -1;
  for (const id of nodeIds) {
    const w = rendezvousScore(id, key);
    if (w > bestW || (w === bestW && best !== undefined && id < best)) {
      best = id;
      bestW = w;
    }
  }
  return best;
}

// ---- the cluster ----

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'host', 'content-length']);
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED']);

function errorCode(e: unknown): string {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof err?.code === 'string' && err.code !== 'UND_ERR') return err.code;
  if (typeof err?.cause?.code === 'string') return err.cause.code;
  return (e as Error)?.name ?? 'error';
}

interface Seen {
  at: number;
  /** performance.now() when `at` last changed (as this node saw it). */
  changedMono: number;
  ttlMs: number;
}

const noopLogger: ClusterLogger = { info() {}, warn() {}, debug() {} };

export class Cluster extends EventEmitter {
  readonly nodeId: string;
  readonly url: string;
  private readonly store: MembershipStore;
  private readonly heartbeatIntervalMs: number;
  private readonly ttlMs: number;
  private readonly log: ClusterLogger;
  private readonly seen = new Map<string, Seen>();
  private members: ClusterMember[];
  private memberIds: string[];
  private readonly preferredCache = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlightBeat: Promise<void> | undefined;
  private queuedBeat: Promise<void> | undefined;
  private running = false;
  private inService: ReadonlySet<string> | undefined;
  private asgRefreshedMono = -Infinity;
  private lastSweepMono = -Infinity;
  private selfCheckFails = 0;
  private unhealthyReported = false;
  private readonly agents = new Map<number, Agent>();
  /** Peers (by URL) whose last forward failed or whose last health check went unanswered. */
  private readonly suspects = new Set<string>();
  private readonly probes = new Map<string, Promise<boolean>>();
  private readonly probedAt = new Map<string, number>();
  private readonly notifyState = new Map<string, { inFlight: boolean; pendingT: number }>();
  private readonly stats_: ClusterStats = {
    heartbeats: 0, heartbeatFailures: 0, refreshFailures: 0, forwards: 0, forwardFailures: 0, notifiesSent: 0, notifyFailures: 0, lastRefreshAt: undefined,
  };

  /** Fault injection: whether node-to-node requests are cut now (forwardingCutFrom). */
  private readonly cut: () => boolean;

  constructor(private readonly opts: ClusterOptions) {
    super();
    this.cut = opts.forwardingCut ?? forwardingCutFrom(process.env);
    if (!opts.nodeId) throw new DatalithError('incorrect', 'cluster: nodeId is required', 'cluster/invalid-options');
    this.nodeId = opts.nodeId;
    this.url = opts.url.replace(/\/+$/, '');
    this.store = opts.store;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 500;
    this.ttlMs = opts.ttlMs ?? 2_000;
    this.log = opts.logger ?? noopLogger;
    this.members = [this.selfMember(Date.now())];
    this.memberIds = [this.nodeId];
  }

  /** The first heartbeat and refresh (failures are logged, not thrown), then the timer. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.beat();
    this.timer = setInterval(() => this.timedBeat(), this.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Stop beating; with `deregister` (default) remove this node's heartbeat so others drop it at once. */
  async stop(opts: { deregister?: boolean } = {}): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // A beat in flight must not write the heartbeat back after it was removed.
    await this.queuedBeat?.catch(() => {});
    await this.inFlightBeat?.catch(() => {});
    if (wasRunning && opts.deregister !== false) {
      try {
        await this.store.removeNode(this.nodeId);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cluster: could not remove own heartbeat');
      }
    }
    await Promise.allSettled([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }

  /** Live members, sorted by id (always includes this node). */
  liveNodes(): ClusterMember[] {
    return this.members;
  }

  /** For `GET /v1/cluster`. */
  clusterNodes(): ClusterNodeView[] {
    return this.members.map((m) => ({
      id: m.id,
      url: m.url,
      ...(m.pid !== undefined ? { pid: m.pid } : {}),
      healthy: m.self ? !this.unhealthyReported : true,
    }));
  }

  /** The live member preferred for `dbName`'s writes. */
  preferredNode(dbName: string): ClusterMember {
    const id = this.preferredNodeId(dbName);
    return this.members.find((m) => m.id === id) ?? this.members[0] as ClusterMember;
  }

  preferredNodeId(dbName: string): string {
    let id = this.preferredCache.get(dbName);
    if (id === undefined) {
      id = rendezvousOwner(this.memberIds, dbName) ?? this.nodeId;
      if (this.preferredCache.size >= 10_000) this.preferredCache.clear();
      this.preferredCache.set(dbName, id);
    }
    return id;
  }

  /**
   * The first live member in `dbName`'s preference order that is not suspected (this node is
   * never suspected): the preferred node, unless it stopped answering.
   */
  responsiveNode(dbName: string): ClusterMember {
    const preferred = this.preferredNode(dbName);
    if (preferred.self || !this.isSuspect(preferred.url)) return preferred;
    for (const id of rendezvousRank(this.memberIds, dbName)) {
      const m = this.members.find((x) => x.id === id);
      if (m !== undefined && (m.self || !this.isSuspect(m.url))) return m;
    }
    return this.selfMember(Date.now());
  }

  /** Whether the peer at `url` is suspected; consulting a suspect rechecks it in the background. */
  isSuspect(url: string): boolean {
    if (!this.suspects.has(url)) return false;
    if (!this.probes.has(url) && performance.now() - (this.probedAt.get(url) ?? -Infinity) >= (this.opts.probeIntervalMs ?? 250)) void this.probe(url);
    return true;
  }

  /** One liveness check of a peer (`GET /health`, any answer counts); concurrent callers share it. */
  probe(url: string): Promise<boolean> {
    let p = this.probes.get(url);
    if (p === undefined) {
      const ms = this.opts.probeTimeoutMs ?? 250;
      p = this.send(url, '/health', null, {}, { method: 'GET', timeoutMs: ms, signal: AbortSignal.timeout(ms) })
        .then(() => true, () => false)
        .then((alive) => {
          this.probes.delete(url);
          this.probedAt.set(url, performance.now());
          if (alive) this.suspects.delete(url);
          else this.suspects.add(url);
          return alive;
        });
      this.probes.set(url, p);
    }
    return p;
  }

  isPreferred(dbName: string): boolean {
    return this.preferredNodeId(dbName) === this.nodeId;
  }

  /** Whether this node reported itself unhealthy (its /health may fail on it). */
  get selfUnhealthy(): boolean {
    return this.unhealthyReported;
  }

  stats(): ClusterStats {
    return { ...this.stats_ };
  }

  /**
   * Send a request to another node. Resolves with any HTTP response (the caller interprets the
   * status); rejects with `ForwardError` when no response came.
   */
  async forward(
    nodeUrl: string,
    path: string,
    body: string | Buffer | Uint8Array | null,
    headers: Record<string, string | string[] | undefined> = {},
    opts: ForwardOptions = {},
  ): Promise<ForwardResponse> {
    this.stats_.forwards++;
    // An injected cut says nothing about the peer: it is not suspected for it.
    if (this.cut()) {
      this.stats_.forwardFailures++;
      throw cutError(nodeUrl);
    }
    // A peer that does not answer its health check meanwhile (paused, hung) fails the forward now.
    const abort = new AbortController();
    let unresponsive = false;
    const watch = setTimeout(() => {
      void this.probe(nodeUrl).then((alive) => {
        if (alive) return;
        unresponsive = true;
        abort.abort();
      });
    }, this.opts.livenessCheckAfterMs ?? 150);
    try {
      return await this.send(nodeUrl, path, body, headers, { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal });
    } catch (e) {
      this.stats_.forwardFailures++;
      this.suspects.add(nodeUrl);
      if (unresponsive) throw new ForwardError(nodeUrl, true, `no answer to a health check within ${this.opts.probeTimeoutMs ?? 250} ms`, 'DATALITH_PEER_UNRESPONSIVE');
      throw e;
    } finally {
      clearTimeout(watch);
    }
  }

  private async send(
    nodeUrl: string,
    path: string,
    body: string | Buffer | Uint8Array | null,
    headers: Record<string, string | string[] | undefined>,
    opts: ForwardOptions,
  ): Promise<ForwardResponse> {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined || HOP.has(k.toLowerCase())) continue;
      out[k.toLowerCase()] = v;
    }
    if (out['authorization'] === undefined && this.opts.authorization !== undefined) out['authorization'] = this.opts.authorization;
    if (body !== null && out['content-type'] === undefined) out['content-type'] = 'application/json';
    out[FORWARDED_HEADER] = this.nodeId;
    if (this.cut()) throw cutError(nodeUrl);
    const timeoutMs = opts.timeoutMs ?? this.opts.forwardTimeoutMs ?? 2_000;
    let sent = false;
    try {
      const res = await this.agent(opts.connectTimeoutMs ?? this.opts.connectTimeoutMs ?? 200).request({
        origin: nodeUrl,
        path,
        method: (opts.method ?? 'POST') as Dispatcher.HttpMethod,
        headers: out,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
      sent = true;
      const buf = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body: buf };
    } catch (e) {
      const code = errorCode(e);
      const reached = sent || !NOT_SENT.has(code);
      throw new ForwardError(nodeUrl, reached, (e as Error).message, code);
    }
  }

  /**
   * Tell every other live node that `dbName` has a new `t` (fire and forget). Concurrent
   * notifications of the same database to the same node are coalesced into the highest `t`.
   */
  notify(dbName: string, t: number): void {
    for (const m of this.members) {
      if (m.self) continue;
      const key = `${m.id}\u0000${dbName}`;
      let st = this.notifyState.get(key);
      if (st === undefined) {
        st = { inFlight: false, pendingT: 0 };
        this.notifyState.set(key, st);
      }
      st.pendingT = Math.max(st.pendingT, t);
      if (!st.inFlight) void this.sendNotify(m, dbName, key, st);
    }
  }

  /**
   * This node is broken: make the platform replace it. In AWS: `SetInstanceHealth Unhealthy`.
   * Always: `selfUnhealthy` becomes true and an `unhealthy` event is emitted (the node's
   * /health should then fail, which is how the local supervisor replaces it).
   */
  async reportUnhealthy(reason: string): Promise<void> {
    if (this.unhealthyReported) return;
    this.unhealthyReported = true;
    this.log.warn({ reason }, 'cluster: this node reports itself unhealthy');
    this.emit('unhealthy', reason);
    if (this.opts.asg !== undefined) {
      try {
        await this.opts.asg.setSelfUnhealthy(reason);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cluster: SetInstanceHealth failed');
      }
    }
  }

  /**
   * One heartbeat and refresh, started now or right after the one in progress (so the view it
   * resolves with is newer than the call). `start` runs beats on a timer.
   */
  async beat(): Promise<void> {
    if (this.inFlightBeat !== undefined) {
      this.queuedBeat ??= this.inFlightBeat.then(() => {
        this.queuedBeat = undefined;
        return this.beat();
      });
      return this.queuedBeat;
    }
    this.inFlightBeat = (async () => {
      try {
        await this.heartbeat();
        await this.refresh();
        await this.runSelfCheck();
      } finally {
        this.inFlightBeat = undefined;
      }
    })();
    return this.inFlightBeat;
  }

  private timedBeat(): void {
    // A slow storage must not pile beats up.
    if (this.inFlightBeat === undefined) void this.beat();
  }

  // ---- internals ----

  private selfMember(at: number): ClusterMember {
    return {
      id: this.nodeId,
      url: this.url,
      pid: this.opts.pid ?? process.pid,
      instanceId: this.opts.asg?.instanceId,
      self: true,
      heartbeatAt: at,
    };
  }

  private async heartbeat(): Promise<void> {
    if (!this.running) return;
    const info: Record<string, unknown> = { ...this.opts.info, url: this.url, pid: this.opts.pid ?? process.pid };
    if (this.opts.asg !== undefined) info['instanceId'] = this.opts.asg.instanceId;
    try {
      await this.store.heartbeat(this.nodeId, info, this.ttlMs);
      this.stats_.heartbeats++;
    } catch (e) {
      this.stats_.heartbeatFailures++;
      this.log.warn({ err: (e as Error).message }, 'cluster: heartbeat failed');
    }
  }

  private async refresh(): Promise<void> {
    let records: NodeRecord[];
    try {
      records = await this.store.listNodes({ includeExpired: true });
    } catch (e) {
      // Keep the last view: a storage hiccup must not shuffle preferred nodes.
      this.stats_.refreshFailures++;
      this.log.warn({ err: (e as Error).message }, 'cluster: reading membership failed');
      return;
    }
    await this.refreshAsg();
    const nowMono = this.opts.monotonicNow?.() ?? performance.now();
    const now = Date.now();
    const live: ClusterMember[] = [];
    const expired: string[] = [];
    const present = new Set<string>();
    for (const r of records) {
      present.add(r.nodeId);
      if (r.nodeId === this.nodeId) continue;
      const ttl = r.expiresAt > r.at ? r.expiresAt - r.at : this.ttlMs;
      let s = this.seen.get(r.nodeId);
      if (s === undefined) {
        // First sight: trust the writer's clock, bounded by its ttl.
        const age = Math.min(ttl, Math.max(0, now - r.at));
        s = { at: r.at, changedMono: r.expiresAt > now ? nowMono - age : -Infinity, ttlMs: ttl };
        this.seen.set(r.nodeId, s);
      } else if (s.at !== r.at) {
        s.at = r.at;
        s.changedMono = nowMono;
        s.ttlMs = ttl;
      }
      const url = typeof r.info['url'] === 'string' ? r.info['url'] : undefined;
      if (nowMono - s.changedMono < s.ttlMs && url !== undefined) {
        const instanceId = typeof r.info['instanceId'] === 'string' ? r.info['instanceId'] : undefined;
        if (this.inService !== undefined && instanceId !== undefined && !this.inService.has(instanceId)) continue;
        live.push({
          id: r.nodeId,
          url: url.replace(/\/+$/, ''),
          pid: typeof r.info['pid'] === 'number' ? r.info['pid'] : undefined,
          instanceId,
          self: false,
          heartbeatAt: r.at,
        });
      } else if (now - r.expiresAt > (this.opts.sweepExpiredAfterMs ?? 600_000)) {
        expired.push(r.nodeId);
      }
    }
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
    live.push(this.selfMember(now));
    live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.stats_.lastRefreshAt = now;
    this.setMembers(live);
    if ((this.opts.sweepExpiredAfterMs ?? 600_000) > 0 && expired.length > 0 && nowMono - this.lastSweepMono > 60_000) {
      this.lastSweepMono = nowMono;
      await Promise.allSettled(expired.map((id) => this.store.removeNode(id)));
    }
  }

  private setMembers(live: ClusterMember[]): void {
    const ids = live.map((m) => m.id);
    const changed = ids.length !== this.memberIds.length || ids.some((id, i) => id !== this.memberIds[i]) ||
      live.some((m, i) => m.url !== this.members[i]?.url);
    this.members = live;
    if (!changed) return;
    const before = this.memberIds;
    this.memberIds = ids;
    this.preferredCache.clear();
    for (const key of this.notifyState.keys()) {
      if (!ids.includes(key.slice(0, key.indexOf('\u0000')))) this.notifyState.delete(key);
    }
    this.log.info({ nodes: ids, before }, 'cluster: membership changed');
    this.emit('change', live);
  }

  private async refreshAsg(): Promise<void> {
    const asg = this.opts.asg;
    if (asg === undefined) return;
    const nowMono = performance.now();
    if (nowMono - this.asgRefreshedMono < (this.opts.asgRefreshMs ?? 5_000)) return;
    this.asgRefreshedMono = nowMono;
    try {
      this.inService = await asg.inServiceInstanceIds();
    } catch (e) {
      // Keep the last known set (or no filter): the group's API being slow must not empty the cluster.
      this.log.warn({ err: (e as Error).message }, 'cluster: reading the Auto Scaling Group failed');
    }
  }

  private async runSelfCheck(): Promise<void> {
    const check = this.opts.selfCheck;
    if (check === undefined || this.unhealthyReported) return;
    let ok: boolean;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    this.selfCheckFails = ok ? 0 : this.selfCheckFails + 1;
    if (this.selfCheckFails >= (this.opts.selfCheckFailures ?? 3)) {
      await this.reportUnhealthy(`self check failed ${this.selfCheckFails} times in a row`);
    }
  }

  private agent(connectTimeoutMs: number): Agent {
    let a = this.agents.get(connectTimeoutMs);
    if (a === undefined) {
      a = new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000, connections: 64 });
      this.agents.set(connectTimeoutMs, a);
    }
    return a;
  }

  private async sendNotify(m: ClusterMember, dbName: string, key: string, st: { inFlight: boolean; pendingT: number }): Promise<void> {
    st.inFlight = true;
    try {
      while (st.pendingT > 0 && this.running) {
        const t = st.pendingT;
        st.pendingT = 0;
        const timeout = this.opts.notifyTimeoutMs ?? 1_000;
        try {
          const res = await this.send(m.url, NOTIFY_PATH, JSON.stringify({ db: dbName, t, from: this.nodeId }), {}, {
            timeoutMs: timeout,
            signal: AbortSignal.timeout(timeout),
          });
          this.stats_.notifiesSent++;
          if (res.status >= 300) {
            this.stats_.notifyFailures++;
            this.log.debug({ node: m.id, status: res.status }, 'cluster: notification refused');
          }
        } catch (e) {
          this.stats_.notifyFailures++;
          this.log.debug({ node: m.id, err: (e as Error).message }, 'cluster: notification failed');
        }
      }
    } finally {
      st.inFlight = false;
      if (!this.running) this.notifyState.delete(key);
    }
  }
}
