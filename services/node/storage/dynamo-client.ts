/**
 * One DynamoDB client per process (per endpoint/region), on a keep-alive pooled HTTP agent.
 *
 * Real AWS: the default credential chain and region (env, instance profile), HTTPS agent.
 * Local (an `endpoint` is given: dynalite, DynamoDB Local): fake static credentials and region
 * `local`. DynamoDB Local keeps a separate database per access key + region, so every local client
 * must use the same fake pair — they do. (DynamoDB Local 3.x also insists that the access key id be
 * only letters and digits.)
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
}

export const LOCAL_REGION = 'local';
export const LOCAL_CREDENTIALS = { accessKeyId: 'datalithlocal', secretAccessKey: 'datalithlocal' } as const;

const MAX_SOCKETS = 256;

/** An SDK request handler on its own keep-alive pooled HTTP and HTTPS agents (one per client). */
export function keepAliveRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    connectionTimeout: 5_000,
  });
}

/** A fresh client (with its own agent). Prefer `getDynamoClient` to share one per process. */
export function createDynamoClient(opts: DynamoClientOptions = {}): DynamoDBClient {
  const requestHandler = keepAliveRequestHandler();
  if (opts.endpoint !== undefined) {
    return new DynamoDBClient({
      endpoint: opts.endpoint,
      region: opts.region ?? LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      requestHandler,
      maxAttempts: 3,
    });
  }
  return new DynamoDBClient({
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    requestHandler,
    maxAttempts: 3,
  });
}

/** Clients shared per process, one per endpoint and region (created on first use). */
export interface SharedClients<C> {
  get(opts?: { endpoint?: string; region?: string }): C;
  /** Destroy the shared clients (all, or the one for `opts`) and their pooled sockets. */
  close(opts?: { endpoint?: string; region?: string }): void;
}

export function sharedClients<C extends { destroy(): void }>(create: (opts: { endpoint?: string; region?: string }) => C): SharedClients<C> {
  const shared = new Map<string, C>();
  const keyOf = (opts: { endpoint?: string; region?: string }): string => `${opts.endpoint ?? 'aws'}|${opts.region ?? ''}`;
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
