/**
 * The embedded S3-compatible server for segments (s3rver, objects as files), in process.
 * `npm start` runs it as its own process through `s3rver-server.ts`, data in
 * `<data-dir>/segments`; tests run it in process, on a fresh temporary directory when none is
 * given (removed on close). Buckets are created by the nodes (SegmentStore.ensureBucket), as
 * they create tables in the embedded DynamoDB.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { DatalithError } from '../engine';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverInstance;

export interface S3rverOptions {
  /** Where objects are kept; a fresh temporary directory (removed on close) when absent. */
  dir?: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}

export interface S3rverHandle {
  endpoint: string;
  port: number;
  dir: string;
  close(): Promise<void>;
}

export async function startS3rverInProcess(opts: S3rverOptions = {}): Promise<S3rverHandle> {
  const temporary = opts.dir === undefined;
  const dir = temporary ? fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-s3-')) : path.resolve(opts.dir as string);
  fs.mkdirSync(dir, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: opts.port ?? 0, directory: dir, silent: true });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (e) {
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    throw new DatalithError('unavailable', `could not start s3rver on port ${opts.port ?? 0}: ${(e as Error).message}`,
      'storage/start-failed', { dir, port: opts.port });
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    dir,
    close: () => {
      closing ??= (async () => {
        // Idle keep-alive sockets of our own clients must not hold the close up.
        (server.httpServer as (Server & { closeAllConnections?: () => void }) | undefined)?.closeAllConnections?.();
        await server.close();
        if (temporary) fs.rmSync(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
