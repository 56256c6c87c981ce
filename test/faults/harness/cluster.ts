/**
 * A local cluster for fault injection: `startLocalCluster` on a temporary data directory and a
 * free port, with a TCP fault proxy between the nodes and the storage (storage down or slow) and
 * the node-to-node cut switch (`DATALITH_FORWARDING_OFF_FILE`, services/node/cluster/cluster.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient, type Client } from '../../../services/client';
import { startFaultProxy, type FaultProxy } from '../../../services/local/fault-proxy';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions, type LocalNodeInfo } from '../../../services/local/main';

export interface FaultClusterOptions {
  nodes?: number;
  /** Extra node environment. */
  nodeEnv?: Record<string, string | undefined>;
  /** Keep the data directory (logs) after stop; default: only when FAULTS_KEEP=1. */
  keep?: boolean;
  /** Cluster events (node replaced, health changes). */
  log?: LocalClusterOptions['log'];
  replaceAfterMs?: number;
  /** An S3-compatible endpoint for segments instead of the cluster's own s3rver (e.g. behind a fault proxy). */
  s3Endpoint?: string;
}

export interface FaultCluster {
  readonly cluster: LocalCluster;
  /** Between the nodes and the storage. */
  readonly storageProxy: FaultProxy;
  readonly dataDir: string;
  /** Cut (or heal) every node-to-node request: forwarded transactions and notifications. */
  cutNodes(cut: boolean): void;
  readonly nodesCut: boolean;
  /** Every cluster event so far (node-failed, node-replaced, health changes, …). */
  readonly events: ReadonlyArray<Record<string, unknown>>;
  /** Node processes that exited on their own (not killed by a signal): crashes. */
  crashes(): Array<Record<string, unknown>>;
  /** Keep the data directory (node logs) after stop. */
  keepDataDir(): void;
  /** A new remote client through the load balancer. */
  client(timeoutMs?: number): Client;
  /** The node currently preferred for `db`'s transactions (as a node serving the request sees it). */
  preferredNode(db: string): Promise<LocalNodeInfo>;
  stop(): Promise<void>;
}

export async function startFaultCluster(opts: FaultClusterOptions = {}): Promise<FaultCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-faults-'));
  const cutFile = path.join(dataDir, 'nodes-cut');
  let proxy: FaultProxy | undefined;
  let cluster: LocalCluster;
  const events: Array<Record<string, unknown>> = [];
  const log = (e: Record<string, unknown>): void => {
    events.push({ at: Date.now(), ...e });
    opts.log?.(e);
  };
  try {
    cluster = await startLocalCluster({
      port: 0,
      dataDir,
      nodes: opts.nodes ?? 2,
      stopGraceMs: 2_000,
      ...(opts.replaceAfterMs !== undefined ? { replaceAfterMs: opts.replaceAfterMs } : {}),
      ...(opts.s3Endpoint !== undefined ? { s3Endpoint: opts.s3Endpoint } : {}),
      nodeEnv: {
        DATALITH_LOG_LEVEL: 'warn',
        DATALITH_FORWARDING_OFF_FILE: cutFile,
        ...opts.nodeEnv,
      },
      wrapStorageEndpoint: async (endpoint) => {
        const u = new URL(endpoint);
        proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
        return proxy.endpoint;
      },
      log,
    });
  } catch (e) {
    await proxy?.close();
    throw e;
  }
  const storageProxy = proxy as FaultProxy;
  const clients: Client[] = [];
  let cut = false;
  let keep = opts.keep ?? process.env.FAULTS_KEEP === '1';
  return {
    cluster,
    storageProxy,
    dataDir,
    get nodesCut() { return cut; },
    keepDataDir() { keep = true; },
    events,
    crashes: () => events.filter((e) => e['event'] === 'node-failed' && /^exited \(code/.test(String(e['reason']))),
    cutNodes(c: boolean) {
      cut = c;
      if (c) fs.writeFileSync(cutFile, 'cut\n');
      else fs.rmSync(cutFile, { force: true });
    },
    client(timeoutMs = 10_000) {
      const c = createClient({ endpoint: cluster.endpoint, accessKey: cluster.accessKey, timeout: timeoutMs });
      clients.push(c);
      return c;
    },
    async preferredNode(db: string) {
      const c = createClient({ endpoint: cluster.endpoint, accessKey: cluster.accessKey, timeout: 10_000 });
      try {
        const r = await (c as unknown as { transport: { call(m: string, p: string): Promise<{ preferredNode: string }> } })
          .transport.call('GET', `/v1/databases/${encodeURIComponent(db)}`);
        const node = cluster.nodes.find((n) => n.id === r.preferredNode);
        if (node === undefined) throw new Error(`preferred node ${r.preferredNode} of ${db} is not one of ${cluster.nodes.map((n) => n.id).join(', ')}`);
        return node;
      } finally {
        await c.close();
      }
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      fs.rmSync(cutFile, { force: true });
      storageProxy.setDown(false);
      storageProxy.delayMs = 0;
      storageProxy.responseDelayMs = 0;
      await cluster.stop();
      await storageProxy.close();
      if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
