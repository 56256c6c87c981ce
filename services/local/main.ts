/**
 * `npm start` — the local cluster:
 *
 *   npm start -- [--topology solo|production] [--nodes N] [--port P] [--data-dir DIR]
 *                [--storage-endpoint URL] [--s3-endpoint URL] [--cache-size-mb MB]
 *                [--index-threshold-datoms N] [--json]
 *
 * Prints the endpoint and the access key's path when ready; Ctrl-C (or SIGTERM) stops every
 * process it started. `startLocalCluster` is exported for tests, the fault suite and benches.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isDatalithError } from '../engine';
import { startLocalCluster, resolveTopology, type LocalCluster, type Topology } from './local-cluster';

export { startLocalCluster, resolveTopology, DEFAULT_NODE_ENTRY } from './local-cluster';
export type { LocalCluster, LocalClusterOptions, LocalNodeInfo, LocalSegmentsInfo, LocalStorageInfo, Topology } from './local-cluster';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function urlArg(name: string) {
  return (v: string): string => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new InvalidArgumentError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
    return v;
  };
}

interface CliOptions {
  topology: Topology;
  nodes?: number;
  port: number;
  dataDir: string;
  storageEndpoint?: string;
  s3Endpoint?: string;
  cacheSizeMb?: number;
  indexThresholdDatoms?: number;
  json?: boolean;
  verbose?: boolean;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // The AWS SDK's notice about future Node.js versions is noise in a local cluster's console.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const program = new Command()
    .name('npm start --')
    .description('Run a Datalith cluster on this machine: storage, nodes, a load balancer and a supervisor.')
    .addOption(new Option('--topology <topology>', 'solo (1 node) or production').choices(['solo', 'production']).default('production'))
    .option('--nodes <n>', 'number of nodes (production: default 2; solo: 1)', intArg('--nodes', 1, 64))
    .option('--port <port>', 'endpoint port (0: any free port)', intArg('--port', 0, 65535), 8080)
    .option('--data-dir <dir>', 'data directory (storage, access key, logs)', './.datalith')
    .option('--storage-endpoint <url>', 'use this DynamoDB-compatible endpoint instead of the embedded storage')
    .option('--s3-endpoint <url>', 'keep index segments at this S3-compatible endpoint instead of the embedded s3rver', urlArg('--s3-endpoint'))
    .option('--cache-size-mb <mb>', "memory for loaded index segments per node (default: a quarter of the machine's memory, 64 MB to 1 GB)", intArg('--cache-size-mb', 1, 1024 * 1024))
    .option('--index-threshold-datoms <n>', 'datoms logged after the durable index that start an indexing job (default 200000)', intArg('--index-threshold-datoms', 1, 1_000_000_000))
    .option('--json', 'print one JSON line when ready instead of text')
    .option('--verbose', 'print cluster events (node replaced, health changes) on stderr')
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts<CliOptions>();

  let cluster: LocalCluster | undefined;
  let stopping = false;
  let firstSignalAt = 0;
  const shutdown = (signal: string): void => {
    if (stopping) {
      // A terminal's Ctrl-C reaches both `npm`/`tsx` (which relay it) and us: only a second,
      // later Ctrl-C means "stop now".
      if (Date.now() - firstSignalAt < 1_000) return;
      process.stderr.write('stopping now\n');
      process.exit(1);
    }
    stopping = true;
    firstSignalAt = Date.now();
    if (cluster === undefined) {
      // Still starting: the children's orphan guards take them down when we exit.
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping the local cluster…\n`);
    cluster.stop().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  const important = new Set(['node-failed', 'node-replaced', 'node-start-failed']);
  try {
    const { topology, nodes } = resolveTopology(o.topology, o.nodes);
    cluster = await startLocalCluster({
      topology,
      nodes,
      port: o.port,
      dataDir: o.dataDir,
      ...(o.storageEndpoint !== undefined ? { storageEndpoint: o.storageEndpoint } : {}),
      ...(o.s3Endpoint !== undefined ? { s3Endpoint: o.s3Endpoint } : {}),
      nodeEnv: {
        ...(o.cacheSizeMb !== undefined ? { DATALITH_CACHE_SIZE_MB: String(o.cacheSizeMb) } : {}),
        ...(o.indexThresholdDatoms !== undefined ? { DATALITH_INDEX_THRESHOLD_DATOMS: String(o.indexThresholdDatoms) } : {}),
      },
      log: (ev) => {
        if (o.verbose === true || important.has(String(ev['event']))) process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...ev })}\n`);
      },
    });
  } catch (e) {
    const msg = isDatalithError(e) ? e.message : String((e as Error)?.stack ?? e);
    process.stderr.write(`datalith: could not start the local cluster: ${msg}\n`);
    process.exit(1);
  }
  if (stopping) return;
  const c = cluster;
  if (o.json === true) {
    process.stdout.write(`${JSON.stringify({
      event: 'ready',
      endpoint: c.endpoint,
      accessKeyFile: c.accessKeyFile,
      topology: c.topology,
      storage: c.storage.endpoint,
      storagePid: c.storage.pid,
      segments: c.segments.endpoint,
      pid: process.pid,
      nodes: c.nodes.map((n) => ({ id: n.id, url: n.url, pid: n.pid })),
    })}\n`);
  } else {
    const lines = [
      `Datalith local cluster ready (${c.topology}, ${c.nodes.length} node${c.nodes.length === 1 ? '' : 's'})`,
      `  endpoint:   ${c.endpoint}`,
      `  access key: ${c.accessKeyFile}`,
      `  storage:    ${c.storage.endpoint}${c.storage.embedded ? ` (embedded, data in ${c.storage.dir})` : ''}`,
      `  segments:   ${c.segments.endpoint} bucket ${c.segments.bucket}${c.segments.embedded ? ` (embedded, data in ${c.segments.dir})` : ''}`,
      ...c.nodes.map((n) => `  ${n.id}:     ${n.url} (pid ${n.pid})`),
      `  logs:       ${c.dataDir}/logs/`,
      'Press Ctrl-C to stop.',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

if (require.main === module) {
  void main();
}
