/**
 * The node's configuration: read once from the environment (services/node/main.ts), or given
 * directly to `startNode` by tests and the local cluster. Every limit has a documented default.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomUUID } from 'node:crypto';
import { DatalithError, describeValue } from '../engine';
import { DEFAULT_STORAGE_CONNECT_TIMEOUT_MS, DEFAULT_STORAGE_REQUEST_TIMEOUT_MS } from './storage/dynamo-client';
import { DEFAULT_INDEX_THRESHOLD_DATOMS, TAIL_MAX_FACTOR, defaultCacheSizeMb } from './indexing/durable';

/** Default for `keyCacheTtlMs` (services/node/keys.ts). */
export const DEFAULT_KEY_CACHE_TTL_MS = 5_000;

/** Limits of the HTTP API (docs/http-api.md, docs/limits.md). */
export interface HttpLimits {
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number;
  /** Query timeout when the request names none (ms). */
  readonly defaultQueryTimeoutMs: number;
  /** Largest query timeout a request may ask for (ms). */
  readonly maxQueryTimeoutMs: number;
  /** Requests under /v1 one node works on at once; beyond it → `busy` (429). */
  readonly maxPendingRequests: number;
  /** Speculative transactions (`with`) one database value may carry. */
  readonly maxWithChain: number;
  /** Deepest nesting of arrays and objects in a JSON request body. */
  readonly maxJsonDepth: number;
  /** Most rows (or elements) a query, datoms, index-range or tx-range answer may hold. */
  readonly maxResultRows: number;
  /** Largest response body of a read in bytes (JSON). */
  readonly maxResponseBytes: number;
}

export const DEFAULT_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxBodyBytes: 10 * 1024 * 1024,
  defaultQueryTimeoutMs: 30_000,
  maxQueryTimeoutMs: 120_000,
  maxPendingRequests: 512,
  maxWithChain: 64,
  maxJsonDepth: 256,
  maxResultRows: 100_000,
  maxResponseBytes: 32 * 1024 * 1024,
});

/**
 * The ALB closes idle connections after 60 s; a node must keep them open longer, or the ALB
 * may reuse a connection the node has just closed (a 502 for the client).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 70_000;
export const HEADERS_TIMEOUT_MS = 71_000;

export interface NodeConfig {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly host: string;
  /** A DynamoDB-compatible endpoint (dynalite, DynamoDB Local); absent: real AWS DynamoDB. */
  readonly storageEndpoint?: string;
  /** AWS region for real DynamoDB (default: the SDK's chain, e.g. AWS_REGION). */
  readonly region?: string;
  /** Time to open a connection to storage (ms). */
  readonly storageConnectTimeoutMs: number;
  /** Time for one attempt of a storage call (ms); a call makes up to 3 attempts, then fails `unavailable`. */
  readonly storageRequestTimeoutMs: number;
  readonly catalogTable?: string;
  readonly logTable?: string;
  /** Create the tables (and the segment bucket) when absent (local; in AWS the CDK stack owns them). */
  readonly createTables: boolean;
  /** An S3-compatible endpoint for index segments (s3rver locally); absent: real AWS S3. */
  readonly s3Endpoint?: string;
  /**
   * The bucket of index segments (services/node/storage/segment-store.ts). Absent with no
   * `s3Endpoint`: the node has no segment store; with one, `datalith-segments`.
   */
  readonly segmentBucket?: string;
  readonly nodeId: string;
  /** The URL other nodes and the cluster view use for this node (default http://host:port). */
  readonly nodeUrl?: string;
  /** The admin access key (or, in AWS, the secret holding it). */
  readonly adminKey?: string;
  /** A Secrets Manager secret ARN holding the admin key (read at startup). */
  readonly adminKeySecretArn?: string;
  readonly limits: HttpLimits;
  /** Poll the log of every loaded database this often (ms); 0 disables polling. */
  readonly pollIntervalMs: number;
  /** On shutdown: how long /health fails before the listener closes (lets the LB notice). */
  readonly drainDelayMs: number;
  /** On shutdown: how long in-flight requests may take before their connections are cut. */
  readonly drainTimeoutMs: number;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: string;
  /** CloudWatch namespace for the node's metrics (published once a minute); absent: none. */
  readonly metricsNamespace?: string;
  /** How long a node reuses an access-key lookup; revocation reaches every node within it (ms). */
  readonly keyCacheTtlMs: number;  /** Query worker threads (docs/adr/007-query-workers.md); 0 evaluates queries on the event loop. */
  readonly queryWorkers: number;
  /** Heap limit of each query worker (MB). */
  readonly queryWorkerMemoryMb: number;
  /**
   * Memory for loaded index segments (MB), shared by the node's event loop and its query workers
   * (with workers the event loop keeps a fifth, the workers share the rest); default a quarter of the machine's memory, 64 MB to 1 GB.
   */
  readonly cacheSizeMb: number;
  /** Datoms logged after the durable index that start an indexing job (docs/indexing.md). */
  readonly indexThresholdDatoms: number;
  /** Datoms logged after the durable index above which transactions get `busy` (0: never). */
  readonly tailMaxDatoms: number;
}

export type NodeConfigInput = Partial<Omit<NodeConfig, 'limits'>> & {
  readonly limits?: Partial<HttpLimits>;
};

/** A full configuration from a partial one (tests and the local cluster). */
export function nodeConfig(input: NodeConfigInput): NodeConfig {
  if (input.adminKeySecretArn === undefined && (typeof input.adminKey !== 'string' || input.adminKey.length === 0)) {
    throw configError('adminKey', input.adminKey, 'a non-empty access key (or adminKeySecretArn)');
  }
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...(input.limits ?? {}) };
  if (limits.defaultQueryTimeoutMs > limits.maxQueryTimeoutMs) {
    throw configError('limits.defaultQueryTimeoutMs', limits.defaultQueryTimeoutMs, `at most limits.maxQueryTimeoutMs (${limits.maxQueryTimeoutMs})`);
  }
  return {
    port: input.port ?? 8080,
    host: input.host ?? '0.0.0.0',
    ...(input.storageEndpoint !== undefined ? { storageEndpoint: input.storageEndpoint } : {}),
    ...(input.region !== undefined ? { region: input.region } : {}),
    storageConnectTimeoutMs: input.storageConnectTimeoutMs ?? DEFAULT_STORAGE_CONNECT_TIMEOUT_MS,
    storageRequestTimeoutMs: input.storageRequestTimeoutMs ?? DEFAULT_STORAGE_REQUEST_TIMEOUT_MS,
    ...(input.catalogTable !== undefined ? { catalogTable: input.catalogTable } : {}),
    ...(input.logTable !== undefined ? { logTable: input.logTable } : {}),
    ...(input.s3Endpoint !== undefined ? { s3Endpoint: input.s3Endpoint } : {}),
    ...(input.segmentBucket !== undefined ? { segmentBucket: input.segmentBucket } : {}),
    ...(input.nodeUrl !== undefined ? { nodeUrl: input.nodeUrl } : {}),
    createTables: input.createTables ?? false,
    nodeId: input.nodeId ?? defaultNodeId(),
    ...(input.adminKey !== undefined ? { adminKey: input.adminKey } : {}),
    ...(input.adminKeySecretArn !== undefined ? { adminKeySecretArn: input.adminKeySecretArn } : {}),
    limits,
    pollIntervalMs: input.pollIntervalMs ?? 1_000,
    drainDelayMs: input.drainDelayMs ?? 0,
    drainTimeoutMs: input.drainTimeoutMs ?? 25_000,
    logLevel: input.logLevel ?? 'info',
    ...(input.metricsNamespace !== undefined ? { metricsNamespace: input.metricsNamespace } : {}),
    keyCacheTtlMs: input.keyCacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS,
    queryWorkers: input.queryWorkers ?? defaultQueryWorkers(),
    queryWorkerMemoryMb: input.queryWorkerMemoryMb ?? DEFAULT_QUERY_WORKER_MEMORY_MB,
    cacheSizeMb: input.cacheSizeMb ?? defaultCacheSizeMb(),
    indexThresholdDatoms: input.indexThresholdDatoms ?? DEFAULT_INDEX_THRESHOLD_DATOMS,
    tailMaxDatoms: input.tailMaxDatoms ?? TAIL_MAX_FACTOR * (input.indexThresholdDatoms ?? DEFAULT_INDEX_THRESHOLD_DATOMS),
  };
}

/** Two at least (one runaway query must not hold up every other), at most four. */
export function defaultQueryWorkers(): number {
  return Math.max(2, Math.min(4, os.availableParallelism()));
}

export const DEFAULT_QUERY_WORKER_MEMORY_MB = 1024;

function defaultNodeId(): string {
  return `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

function configError(name: string, received: unknown, allowed: string): DatalithError {
  return new DatalithError('incorrect', `Configuration ${name}: received ${describeValue(received)}; allowed: ${allowed}`, 'config/invalid', { name });
}

function intFrom(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw configError(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Where the admin key comes from: DATALITH_ADMIN_KEY, the file named by
 * DATALITH_ACCESS_KEY_FILE, or (in AWS) the Secrets Manager secret DATALITH_ADMIN_KEY_SECRET_ARN,
 * read when the node starts.
 */
export function adminKeyFromEnv(env: NodeJS.ProcessEnv): { adminKey: string } | { adminKeySecretArn: string } {
  const direct = nonEmpty(env, 'DATALITH_ADMIN_KEY');
  if (direct !== undefined) return { adminKey: direct };
  const file = nonEmpty(env, 'DATALITH_ACCESS_KEY_FILE');
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new DatalithError('incorrect', `Configuration DATALITH_ACCESS_KEY_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'config/invalid');
    }
    const key = text.trim();
    if (key === '') throw configError('DATALITH_ACCESS_KEY_FILE', file, 'a file holding a non-empty access key');
    return { adminKey: key };
  }
  const arn = nonEmpty(env, 'DATALITH_ADMIN_KEY_SECRET_ARN');
  if (arn !== undefined) return { adminKeySecretArn: arn };
  throw new DatalithError('incorrect', 'Configuration: no admin access key; set DATALITH_ADMIN_KEY, DATALITH_ACCESS_KEY_FILE or DATALITH_ADMIN_KEY_SECRET_ARN', 'config/missing-admin-key');
}

/** The configuration from environment variables (see docs/http-api.md, "Running a node"). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const bool = (name: string): boolean | undefined => {
    const v = nonEmpty(env, name);
    if (v === undefined) return undefined;
    if (['1', 'true', 'yes'].includes(v.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(v.toLowerCase())) return false;
    throw configError(name, v, '1, true, yes, 0, false or no');
  };
  const limits: Partial<HttpLimits> = {};
  const bodyBytes = intFrom(env, 'DATALITH_MAX_BODY_BYTES', 1024, 1024 ** 3);
  if (bodyBytes !== undefined) Object.assign(limits, { maxBodyBytes: bodyBytes });
  const pending = intFrom(env, 'DATALITH_MAX_PENDING_REQUESTS', 1, 1_000_000);
  if (pending !== undefined) Object.assign(limits, { maxPendingRequests: pending });
  const fromEnv: Array<[keyof HttpLimits, string, number, number]> = [
    ['defaultQueryTimeoutMs', 'DATALITH_QUERY_TIMEOUT_MS', 1, 3_600_000],
    ['maxQueryTimeoutMs', 'DATALITH_MAX_QUERY_TIMEOUT_MS', 1, 3_600_000],
    ['maxResultRows', 'DATALITH_MAX_RESULT_ROWS', 1, 100_000_000],
    ['maxResponseBytes', 'DATALITH_MAX_RESPONSE_BYTES', 1024, 1024 ** 3],
  ];
  for (const [field, name, min, max] of fromEnv) {
    const v = intFrom(env, name, min, max);
    if (v !== undefined) Object.assign(limits, { [field]: v });
  }
  const input: NodeConfigInput = {
    ...adminKeyFromEnv(env),
    port: intFrom(env, 'PORT', 0, 65535) ?? 8080,
    host: nonEmpty(env, 'HOST') ?? '0.0.0.0',
    storageEndpoint: nonEmpty(env, 'DATALITH_STORAGE_ENDPOINT'),
    region: nonEmpty(env, 'AWS_REGION') ?? nonEmpty(env, 'AWS_DEFAULT_REGION'),
    storageConnectTimeoutMs: intFrom(env, 'DATALITH_STORAGE_CONNECT_TIMEOUT_MS', 1, 600_000),
    storageRequestTimeoutMs: intFrom(env, 'DATALITH_STORAGE_REQUEST_TIMEOUT_MS', 1, 600_000),
    catalogTable: nonEmpty(env, 'DATALITH_CATALOG_TABLE'),
    logTable: nonEmpty(env, 'DATALITH_LOG_TABLE'),
    s3Endpoint: nonEmpty(env, 'DATALITH_S3_ENDPOINT'),
    segmentBucket: nonEmpty(env, 'DATALITH_SEGMENT_BUCKET'),
    createTables: bool('DATALITH_CREATE_TABLES') ?? false,
    nodeId: nonEmpty(env, 'DATALITH_NODE_ID'),
    nodeUrl: nonEmpty(env, 'DATALITH_NODE_URL'),
    limits,
    pollIntervalMs: intFrom(env, 'DATALITH_POLL_INTERVAL_MS', 0, 3_600_000),
    drainDelayMs: intFrom(env, 'DATALITH_DRAIN_DELAY_MS', 0, 600_000),
    drainTimeoutMs: intFrom(env, 'DATALITH_DRAIN_TIMEOUT_MS', 0, 600_000),
    logLevel: nonEmpty(env, 'DATALITH_LOG_LEVEL'),
    metricsNamespace: nonEmpty(env, 'DATALITH_METRICS_NAMESPACE'),
    keyCacheTtlMs: intFrom(env, 'DATALITH_KEY_CACHE_TTL_MS', 0, 60_000),
    queryWorkers: intFrom(env, 'DATALITH_QUERY_WORKERS', 0, 64),
    queryWorkerMemoryMb: intFrom(env, 'DATALITH_QUERY_WORKER_MEMORY_MB', 64, 1024 * 1024),
    cacheSizeMb: intFrom(env, 'DATALITH_CACHE_SIZE_MB', 1, 1024 * 1024),
    indexThresholdDatoms: intFrom(env, 'DATALITH_INDEX_THRESHOLD_DATOMS', 1, 1_000_000_000),
    tailMaxDatoms: intFrom(env, 'DATALITH_TAIL_MAX_DATOMS', 0, 1_000_000_000),
  };
  // Drop undefined fields so nodeConfig's defaults apply.
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as NodeConfigInput;
  return nodeConfig(defined);
}
