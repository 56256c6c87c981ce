/**
 * The local cluster behind `npm start`, also used by tests, the fault suite and the benches:
 *
 *   storage     dynalite as its own process, data in `<data-dir>/storage` (or `storageEndpoint`)
 *   segments    s3rver as its own process, objects in `<data-dir>/segments` (or `s3Endpoint`);
 *               the nodes create the bucket, as they create the tables
 *   nodes       N processes of `services/node/main.ts` on free ports (ids node-1 … node-N)
 *   LB          the load balancer on the endpoint port, health-checking the nodes
 *   supervisor  replaces a node that exits or fails its health checks
 *
 * Every child runs in its own process group with the orphan guard (see process.ts), so Ctrl-C on
 * the terminal reaches only this process, which stops everything in order (load balancer stops
 * accepting, nodes deregistered and stopped with SIGTERM then SIGKILL, storage last), and the
 * children also go away if this process dies by SIGKILL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDynamoClient, ensureTables, DEFAULT_SEGMENT_BUCKET, DEFAULT_TABLE_NAMES } from '../node/storage';
import { DatalithError } from '../engine';
import { ensureAccessKey } from './access-key';
import { LoadBalancer, type HealthCheckOptions } from './load-balancer';
import { spawnChild, pidAlive, type ChildHandle } from './process';
import { Supervisor, type ManagedNodeStatus, type NodeProcessInfo, type ReplacedEvent } from './supervisor';

export type Topology = 'solo' | 'production';

export interface LocalClusterOptions {
  /** `production` (default): 2 nodes unless `nodes` says otherwise; `solo`: exactly 1. */
  topology?: Topology;
  nodes?: number;
  /** Endpoint port (default 8080); 0 picks a free one. */
  port?: number;
  /** Address everything binds to (default 127.0.0.1). */
  host?: string;
  /** Default `./.datalith`. */
  dataDir?: string;
  /** Use this DynamoDB-compatible endpoint instead of starting the embedded storage. */
  storageEndpoint?: string;
  /** Use this S3-compatible endpoint for index segments instead of starting the embedded s3rver. */
  s3Endpoint?: string;
  /** The segment bucket (default `datalith-segments`). */
  segmentBucket?: string;
  catalogTable?: string;
  logTable?: string;
  /** The node entry (default `services/node/main.ts`); tests may run a stand-in. */
  nodeEntry?: string;
  /** Extra environment for every node process. */
  nodeEnv?: Record<string, string | undefined>;
  /** Load balancer health checks (default: every 250 ms, 500 ms timeout, 2 failures / 2 passes). */
  healthCheck?: HealthCheckOptions;
  /** Replace a node failing its health checks this long (default 2000 ms). */
  replaceAfterMs?: number;
  /** Replace failed nodes (default true). */
  supervise?: boolean;
  /** Grace between SIGTERM and SIGKILL when stopping a process (default 5000 ms). */
  stopGraceMs?: number;
  /** Where child output goes: files in `<data-dir>/logs` (default) or nowhere. */
  childLogs?: 'files' | 'none';
  /** Structured events (node replaced, backend unhealthy, …). */
  log?: (event: Record<string, unknown>) => void;
  /**
   * Give the nodes another endpoint for the storage, e.g. a fault proxy in front of it
   * (`startFaultProxy`); table creation still uses the storage directly.
   */
  wrapStorageEndpoint?: (endpoint: string) => string | Promise<string>;
  /** How long a process may take to become ready (default 60 s). */
  startTimeoutMs?: number;
}

export interface LocalNodeInfo {
  index: number;
  id: string;
  url: string;
  port: number;
  /** The current process, undefined while it is being replaced. */
  pid: number | undefined;
  healthy: boolean;
  state: ManagedNodeStatus['state'];
  restarts: number;
}

export interface LocalStorageInfo {
  endpoint: string;
  /** What the nodes use (differs from `endpoint` with `wrapStorageEndpoint`). */
  nodeEndpoint: string;
  /** Whether this cluster started it (false with `storageEndpoint`). */
  embedded: boolean;
  pid: number | undefined;
  dir: string | undefined;
  catalogTable: string;
  logTable: string;
  /**
   * kill -9 the embedded storage process; it stays down until `restart()` (otherwise the
   * cluster restarts a storage process that dies, like a managed service would come back).
   */
  kill(): Promise<void>;
  /** (Re)start the embedded storage on the same directory and port (graceful stop first if running). */
  restart(): Promise<void>;
}

export interface LocalSegmentsInfo {
  /** The S3-compatible endpoint the nodes keep index segments at. */
  endpoint: string;
  bucket: string;
  /** Whether this cluster started it (false with `s3Endpoint`). */
  embedded: boolean;
  dir: string | undefined;
}

export interface LocalCluster {
  /** `http://127.0.0.1:<port>` — the load balancer. */
  readonly endpoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly accessKeyFile: string;
  readonly dataDir: string;
  readonly topology: Topology;
  readonly storage: LocalStorageInfo;
  readonly segments: LocalSegmentsInfo;
  /** A snapshot of the nodes, by index. */
  readonly nodes: LocalNodeInfo[];
  readonly loadBalancer: LoadBalancer;
  readonly supervisor: Supervisor;
  /** Send `signal` (default SIGKILL) to node `i`'s current process; returns its pid. */
  killNode(i: number, signal?: NodeJS.Signals): Promise<number>;
  /** Resolves when node `i` runs a new, healthy process (after a kill). */
  waitReplaced(i: number, oldPid: number, timeoutMs?: number): Promise<LocalNodeInfo>;
  /** Resolves when `n` nodes (default all) pass health checks. */
  waitHealthy(n?: number, timeoutMs?: number): Promise<void>;
  /** Pids of every process this cluster started that is still alive. */
  livePids(): number[];
  /** Every pid this cluster ever started. */
  allPids(): number[];
  /** Subscribe to node replacements. */
  onReplaced(listener: (e: ReplacedEvent) => void): void;
  /** Stop everything; resolves when every process is gone. Idempotent. */
  stop(): Promise<void>;
}

const HERE = __dirname;
export const DEFAULT_NODE_ENTRY = path.join(HERE, '..', 'node', 'main.ts');

/** An embedded server run as its own process: what it is called in logs and events, and how to start it. */
interface EmbeddedServerSpec {
  /** Event prefix (`storage-started`, `segments-failed`, …). */
  readonly role: 'storage' | 'segments';
  readonly name: string;
  readonly entry: string;
}

const DYNALITE: EmbeddedServerSpec = {
  role: 'storage', name: 'storage (dynalite)', entry: path.join(HERE, 'dynalite-server.ts'),
};
const S3RVER: EmbeddedServerSpec = { role: 'segments', name: 'segments (s3rver)', entry: path.join(HERE, 's3rver-server.ts') };

/** Resolve topology and node count as the CLI documents them. */
export function resolveTopology(topology: Topology | undefined, nodes: number | undefined): { topology: Topology; nodes: number } {
  const t = topology ?? 'production';
  if (t !== 'solo' && t !== 'production') {
    throw new DatalithError('incorrect', `unknown topology ${JSON.stringify(t)}; use solo or production`, 'local/bad-option');
  }
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)) {
    throw new DatalithError('incorrect', `--nodes must be an integer from 1 to 64, got ${nodes}`, 'local/bad-option');
  }
  if (t === 'solo') {
    if (nodes !== undefined && nodes !== 1) {
      throw new DatalithError('incorrect', `the solo topology runs exactly 1 node (got --nodes ${nodes})`, 'local/bad-option');
    }
    return { topology: t, nodes: 1 };
  }
  return { topology: t, nodes: nodes ?? 2 };
}

/**
 * An embedded storage process (dynalite, s3rver), restarted (same directory and port) if it dies
 * unexpectedly; `kill()` takes it down on purpose (fault injection) until `restart()`.
 */
class EmbeddedStorage {
  handle: ChildHandle<string> | undefined;
  private port = 0;
  private downOnPurpose = false;
  private stopping = false;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly spec: EmbeddedServerSpec,
    readonly dir: string,
    private readonly logFile: string | undefined,
    private readonly timeoutMs: number,
    private readonly log: (event: Record<string, unknown>) => void,
    private readonly onSpawn: (h: ChildHandle<string>) => void,
  ) {}

  get endpoint(): string {
    return this.handle?.info ?? `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    let h: ChildHandle<string>;
    try {
      h = await this.spawn();
    } catch (e) {
      // Another cluster (or storage server) holds the directory: say just that.
      const locked = /storage\/data-dir-locked: (.*)/.exec((e as Error).message);
      if (locked !== null) throw new DatalithError('conflict', locked[1] as string, 'storage/data-dir-locked', { dir: this.dir });
      throw e;
    }
    this.adopt(h);
  }

  private spawn(): Promise<ChildHandle<string>> {
    return spawnChild<string>({
      name: this.spec.name,
      entry: this.spec.entry,
      args: ['--dir', this.dir, '--port', String(this.port)],
      ready: (m) => (typeof m['endpoint'] === 'string' ? m['endpoint'] : undefined),
      readyTimeoutMs: this.timeoutMs,
      ...(this.logFile !== undefined ? { logFile: this.logFile } : {}),
    });
  }

  private adopt(h: ChildHandle<string>): void {
    this.handle = h;
    this.port = Number(new URL(h.info).port);
    this.onSpawn(h);
    this.log({ event: `${this.spec.role}-started`, endpoint: h.info, pid: h.pid, dir: this.dir });
    void h.exited.then(({ code, signal }) => {
      if (this.stopping || this.downOnPurpose || this.handle !== h) return;
      this.log({ event: `${this.spec.role}-failed`, pid: h.pid, reason: `exited (${signal ?? `code ${code}`})` });
      this.restarting ??= this.restartLoop().finally(() => { this.restarting = undefined; });
    });
  }

  private async restartLoop(): Promise<void> {
    let delay = 100;
    while (!this.stopping && !this.downOnPurpose) {
      try {
        await this.start();
        return;
      } catch (e) {
        this.log({ event: `${this.spec.role}-start-failed`, message: (e as Error).message.slice(0, 2000) });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5_000, delay * 2);
      }
    }
  }

  async kill(): Promise<void> {
    this.downOnPurpose = true;
    await this.restarting;
    await this.handle?.kill();
  }

  async restart(graceMs: number): Promise<void> {
    this.downOnPurpose = true;
    await this.restarting;
    await this.handle?.stop(graceMs);
    this.downOnPurpose = false;
    await this.start();
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    await this.restarting;
    await this.handle?.stop(graceMs);
  }
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const { topology, nodes: nodeCount } = resolveTopology(opts.topology, opts.nodes);
  const host = opts.host ?? '127.0.0.1';
  const dataDir = path.resolve(opts.dataDir ?? '.datalith');
  const stopGraceMs = opts.stopGraceMs ?? 5_000;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const log = opts.log ?? (() => {});
  const logsDir = path.join(dataDir, 'logs');
  const logFile = (name: string): string | undefined => (opts.childLogs === 'none' ? undefined : path.join(logsDir, `${name}.log`));
  const catalogTable = opts.catalogTable ?? DEFAULT_TABLE_NAMES.catalogTable;
  const logTable = opts.logTable ?? DEFAULT_TABLE_NAMES.logTable;
  fs.mkdirSync(dataDir, { recursive: true });

  const { key: accessKey, file: accessKeyFile } = ensureAccessKey(dataDir);
  const started: Array<ChildHandle<unknown>> = [];
  const cleanups: Array<() => Promise<void>> = [];
  const abort = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };

  try {
    // 1. The load balancer first: a busy endpoint port fails fast, before anything is spawned.
    const lb = new LoadBalancer({
      port: opts.port ?? 8080,
      host,
      ...(opts.healthCheck !== undefined ? { healthCheck: opts.healthCheck } : {}),
      log,
    });
    try {
      await lb.listen();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DatalithError('conflict', code === 'EADDRINUSE'
        ? `port ${opts.port ?? 8080} is in use; choose another with --port`
        : `cannot listen on ${host}:${opts.port ?? 8080}: ${(e as Error).message}`, 'local/port-in-use', { port: opts.port ?? 8080 });
    }
    cleanups.push(() => lb.close(stopGraceMs));

    /** The external endpoint, or an embedded server started under `<data-dir>/<role>`. */
    const storageServer = async (spec: EmbeddedServerSpec, external: string | undefined): Promise<[string, EmbeddedStorage | undefined]> => {
      if (external !== undefined) return [external, undefined];
      const server = new EmbeddedStorage(spec, path.join(dataDir, spec.role), logFile(spec.role), startTimeoutMs, log, (h) => started.push(h));
      cleanups.push(() => server.stop(stopGraceMs));
      await server.start();
      return [server.endpoint, server];
    };

    // 2. Storage.
    const [storageEndpoint, embedded] = await storageServer(DYNALITE, opts.storageEndpoint);
    const storageDir = path.join(dataDir, DYNALITE.role);
    const dynamo = createDynamoClient({ endpoint: storageEndpoint });
    try {
      await ensureTables(dynamo, { catalogTable, logTable }, { timeoutMs: 60_000 });
    } catch (e) {
      throw new DatalithError('unavailable', `storage at ${storageEndpoint} is not usable: ${(e as Error).message}`, 'local/storage-unavailable');
    } finally {
      dynamo.destroy();
    }

    // 3. The segment store (the nodes create the bucket).
    const [s3Endpoint, embeddedS3] = await storageServer(S3RVER, opts.s3Endpoint);
    const segmentsDir = path.join(dataDir, S3RVER.role);
    const segmentBucket = opts.segmentBucket ?? DEFAULT_SEGMENT_BUCKET;

    // 4. Nodes under the supervisor.
    const nodeStorageEndpoint = opts.wrapStorageEndpoint !== undefined ? await opts.wrapStorageEndpoint(storageEndpoint) : storageEndpoint;
    const nodeEntry = opts.nodeEntry ?? DEFAULT_NODE_ENTRY;
    if (!fs.existsSync(nodeEntry)) {
      throw new DatalithError('fault', `node entry ${nodeEntry} does not exist`, 'local/no-node-entry');
    }
    const spawnNode = async (spec: { id: string; port: number; generation: number }): Promise<ChildHandle<NodeProcessInfo>> => {
      const h = await spawnChild<NodeProcessInfo>({
        name: `node ${spec.id}`,
        entry: nodeEntry,
        env: {
          ...opts.nodeEnv,
          PORT: String(spec.port),
          HOST: host,
          DATALITH_NODE_ID: spec.id,
          DATALITH_NODE_URL: `http://${host}:${spec.port}`,
          DATALITH_STORAGE_ENDPOINT: nodeStorageEndpoint,
          DATALITH_CATALOG_TABLE: catalogTable,
          DATALITH_LOG_TABLE: logTable,
          DATALITH_S3_ENDPOINT: s3Endpoint,
          DATALITH_SEGMENT_BUCKET: segmentBucket,
          DATALITH_ACCESS_KEY_FILE: accessKeyFile,
          DATALITH_CREATE_TABLES: '1',
          DATALITH_DRAIN_TIMEOUT_MS: String(Math.max(0, stopGraceMs - 1_000)),
        },
        ready: (m) => (m['event'] === 'listening' && typeof m['port'] === 'number' ? { port: m['port'] } : undefined),
        readyTimeoutMs: startTimeoutMs,
        ...(logFile(spec.id) !== undefined ? { logFile: logFile(spec.id) as string } : {}),
      });
      started.push(h);
      return h;
    };
    const supervisor = new Supervisor({
      targets: lb,
      spawnNode,
      host,
      ...(opts.replaceAfterMs !== undefined ? { replaceAfterMs: opts.replaceAfterMs } : {}),
      stopGraceMs,
      log,
    });
    cleanups.push(() => supervisor.stop(stopGraceMs));
    const ids = Array.from({ length: nodeCount }, (_, i) => ({ id: `node-${i + 1}` }));
    await supervisor.start(ids);
    if (opts.supervise === false) supervisor.pause();
    await lb.waitHealthy(nodeCount, startTimeoutMs);

    const nodesNow = (): LocalNodeInfo[] => supervisor.status().map((s) => ({
      index: s.index, id: s.id, url: s.url, port: s.port, pid: s.pid, healthy: s.healthy, state: s.state, restarts: s.restarts,
    }));

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        // Stop taking new connections; nodes drain in-flight requests; storage goes last.
        const lbClosed = lb.close(stopGraceMs);
        await supervisor.stop(stopGraceMs);
        await lbClosed;
        await Promise.all([embedded?.stop(stopGraceMs), embeddedS3?.stop(stopGraceMs)]);
        log({ event: 'stopped' });
      })();
      return stopping;
    };

    const storage: LocalStorageInfo = {
      endpoint: storageEndpoint,
      nodeEndpoint: nodeStorageEndpoint,
      embedded: embedded !== undefined,
      get pid() { return embedded?.handle?.alive === true ? embedded.handle.pid : undefined; },
      dir: embedded !== undefined ? storageDir : undefined,
      catalogTable,
      logTable,
      kill: async () => {
        if (embedded === undefined) throw new DatalithError('unsupported', 'storage is external (--storage-endpoint)', 'local/external-storage');
        await embedded.kill();
      },
      restart: async () => {
        if (embedded === undefined) throw new DatalithError('unsupported', 'storage is external (--storage-endpoint)', 'local/external-storage');
        await embedded.restart(stopGraceMs);
      },
    };

    return {
      endpoint: lb.url,
      port: Number(new URL(lb.url).port),
      accessKey,
      accessKeyFile,
      dataDir,
      topology,
      storage,
      segments: { endpoint: s3Endpoint, bucket: segmentBucket, embedded: embeddedS3 !== undefined, dir: embeddedS3 !== undefined ? segmentsDir : undefined },
      get nodes() { return nodesNow(); },
      loadBalancer: lb,
      supervisor,
      killNode: async (i, signal = 'SIGKILL') => {
        const pid = supervisor.signalNode(i, signal);
        if (pid === undefined) throw new DatalithError('not-found', `node ${i} has no running process`, 'local/no-such-node');
        if (signal === 'SIGKILL') {
          const deadline = Date.now() + 5_000;
          while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        }
        return pid;
      },
      waitReplaced: async (i, oldPid, timeoutMs) => {
        await supervisor.waitReplaced(i, oldPid, timeoutMs);
        return nodesNow()[i] as LocalNodeInfo;
      },
      waitHealthy: (n = nodeCount, timeoutMs = 20_000) => lb.waitHealthy(n, timeoutMs),
      livePids: () => [...new Set(started.filter((h) => h.alive).map((h) => h.pid))],
      allPids: () => [...new Set(started.map((h) => h.pid))],
      onReplaced: (listener) => { supervisor.on('replaced', listener); },
      stop,
    };
  } catch (e) {
    await abort();
    throw e;
  }
}
