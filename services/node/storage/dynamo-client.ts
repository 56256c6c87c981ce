/**
 * One DynamoDB client per process (per endpoint/region), on a keep-alive pooled HTTP agent.
 *
 * Real AWS: the default credential chain and region (env, instance profile), HTTPS agent.
 * Local (an `endpoint` is given: dynalite, DynamoDB Local): fake static credentials and region
 * `local`. DynamoDB Local keeps a separate database per access key + region, so every local client
 * must use the same fake pair — they do. (DynamoDB Local 3.x also insists that the access key id be
 * only letters and digits.)
 *
 * Every call has a bounded time: a connect timeout and a whole-request timeout on the HTTP
 * handler (the SDK's defaults have neither, so a call on a silently dead connection hung for
 * minutes). A timed-out attempt is retried like any transient error, so a call takes at most
 * about `maxAttempts × (connectTimeoutMs + requestTimeoutMs)` plus the SDK's backoff before
 * it fails, as `unavailable` (storage/errors.ts).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface DynamoClientOptions {
  /** A DynamoDB-compatible endpoint, e.g. `http://127.0.0.1:4567`. Absent: real AWS. */
  endpoint?: string;
  /** AWS region; defaults to `local` with an endpoint, else the SDK's default chain. */
  region?: string;
  /** Time to open a connection to storage (ms; default `DEFAULT_STORAGE_CONNECT_TIMEOUT_MS`). */
  connectTimeoutMs?: number;
  /** Time for one attempt of a call, request and response (ms; default `DEFAULT_STORAGE_REQUEST_TIMEOUT_MS`). */
  requestTimeoutMs?: number;
}

/** DynamoDB answers in milliseconds; a connection that takes a second to open is not coming. */
export const DEFAULT_STORAGE_CONNECT_TIMEOUT_MS = 1_000;
/** Long enough for a 1 MB query page or a 400 KB item on a loaded storage, short enough to fail over. */
export const DEFAULT_STORAGE_REQUEST_TIMEOUT_MS = 3_000;
/** Attempts per call (the SDK retries throttling, 5xx, connection errors and timeouts). */
export const STORAGE_MAX_ATTEMPTS = 3;

export const LOCAL_REGION = 'local';
export const LOCAL_CREDENTIALS = { accessKeyId: 'datalithlocal', secretAccessKey: 'datalithlocal' } as const;

const MAX_SOCKETS = 256;

/**
 * An SDK request handler on its own keep-alive pooled HTTP and HTTPS agents (one per client),
 * with bounded connect and per-attempt times.
 */
export function keepAliveRequestHandler(opts: { connectTimeoutMs?: number; requestTimeoutMs?: number } = {}): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    connectionTimeout: opts.connectTimeoutMs ?? DEFAULT_STORAGE_CONNECT_TIMEOUT_MS,
    requestTimeout: opts.requestTimeoutMs ?? DEFAULT_STORAGE_REQUEST_TIMEOUT_MS,
    // Without it a request past `requestTimeout` only logs a warning and goes on waiting.
    throwOnRequestTimeout: true,
  });
}

/** A fresh client (with its own agent). Prefer `getDynamoClient` to share one per process. */
export function createDynamoClient(opts: DynamoClientOptions = {}): DynamoDBClient {
  const requestHandler = keepAliveRequestHandler(opts);
  if (opts.endpoint !== undefined) {
    return new DynamoDBClient({
      endpoint: opts.endpoint,
      region: opts.region ?? LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      requestHandler,
      maxAttempts: STORAGE_MAX_ATTEMPTS,
    });
  }
  return new DynamoDBClient({
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    requestHandler,
    maxAttempts: STORAGE_MAX_ATTEMPTS,
  });
}

/** Where a node or a query worker finds its storage (NodeConfig's and QueryWorkerData's fields). */
export interface StorageSettings {
  readonly storageEndpoint?: string;
  readonly region?: string;
  readonly storageConnectTimeoutMs?: number;
  readonly storageRequestTimeoutMs?: number;
}

/** A fresh client for a node's (or a query worker's) storage settings. */
export function createStorageClient(s: StorageSettings): DynamoDBClient {
  return createDynamoClient({
    ...(s.storageEndpoint !== undefined ? { endpoint: s.storageEndpoint } : {}),
    ...(s.region !== undefined ? { region: s.region } : {}),
    ...(s.storageConnectTimeoutMs !== undefined ? { connectTimeoutMs: s.storageConnectTimeoutMs } : {}),
    ...(s.storageRequestTimeoutMs !== undefined ? { requestTimeoutMs: s.storageRequestTimeoutMs } : {}),
  });
}

/** Options that tell shared clients apart: where they point, and how long they wait. */
type SharedKey = { endpoint?: string; region?: string; connectTimeoutMs?: number; requestTimeoutMs?: number };

/** Clients shared per process, one per endpoint, region and timeouts (created on first use). */
export interface SharedClients<C> {
  get(opts?: SharedKey): C;
  /** Destroy the shared clients (all, or the one for `opts`) and their pooled sockets. */
  close(opts?: SharedKey): void;
}

export function sharedClients<C extends { destroy(): void }>(create: (opts: SharedKey) => C): SharedClients<C> {
  const shared = new Map<string, C>();
  const keyOf = (o: SharedKey): string => `${o.endpoint ?? 'aws'}|${o.region ?? ''}|${o.connectTimeoutMs ?? ''}|${o.requestTimeoutMs ?? ''}`;
  return {
    get: (opts = {}) => {
      const key = keyOf(opts);
      let c = shared.get(key);
      if (c === undefined) {
        c = create(opts);
        shared.set(key, c);
      }
      return c;
    },
    close: (opts) => {
      const clients = opts !== undefined ? [keyOf(opts)] : [...shared.keys()];
      for (const key of clients) {
        shared.get(key)?.destroy();
        shared.delete(key);
      }
    },
  };
}

const dynamoClients = sharedClients(createDynamoClient);

/** The process-wide client for these options (created on first use). */
export function getDynamoClient(opts: DynamoClientOptions = {}): DynamoDBClient {
  return dynamoClients.get(opts);
}

/** Destroy shared clients (all, or the one for `opts`) and their pooled sockets. */
export function closeDynamoClients(opts?: DynamoClientOptions): void {
  dynamoClients.close(opts);
}
