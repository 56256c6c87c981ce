/**
 * One S3 client per process (per endpoint/region), on a keep-alive pooled HTTP agent, for the
 * segment store (services/node/storage/segment-store.ts).
 *
 * Real AWS: the default credential chain and region, virtual-hosted bucket addresses.
 * Local (an `endpoint` is given: s3rver or another S3-compatible server): path-style addresses,
 * region `local`, and the standard AWS credential variables when set, else s3rver's fixed pair
 * (s3rver checks signatures against it).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { keepAliveRequestHandler, LOCAL_REGION, sharedClients } from './dynamo-client';

export interface S3ClientOptions {
  /** An S3-compatible endpoint, e.g. `http://127.0.0.1:4568`. Absent: real AWS. */
  endpoint?: string;
  /** AWS region; defaults to `local` with an endpoint, else the SDK's default chain. */
  region?: string;
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

function localCredentials(): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  const id = process.env['AWS_ACCESS_KEY_ID'];
  const secret = process.env['AWS_SECRET_ACCESS_KEY'];
  if (id !== undefined && id !== '' && secret !== undefined && secret !== '') {
    const token = process.env['AWS_SESSION_TOKEN'];
    return { accessKeyId: id, secretAccessKey: secret, ...(token !== undefined && token !== '' ? { sessionToken: token } : {}) };
  }
  return { ...S3RVER_CREDENTIALS };
}

/** A fresh client (with its own agent). Prefer `getS3Client` to share one per process. */
export function createS3Client(opts: S3ClientOptions = {}): S3Client {
  const requestHandler = keepAliveRequestHandler();
  if (opts.endpoint !== undefined) {
    return new S3Client({
      endpoint: opts.endpoint,
      region: opts.region ?? LOCAL_REGION,
      credentials: localCredentials(),
      forcePathStyle: true,
      requestHandler,
      maxAttempts: 3,
    });
  }
  return new S3Client({ ...(opts.region !== undefined ? { region: opts.region } : {}), requestHandler, maxAttempts: 3 });
}

const s3Clients = sharedClients(createS3Client);

/** The process-wide client for these options (created on first use). */
export function getS3Client(opts: S3ClientOptions = {}): S3Client {
  return s3Clients.get(opts);
}

/** Destroy the shared S3 clients and their pooled sockets. */
export function closeS3Clients(): void {
  s3Clients.close();
}
