/**
 * `npx datalith …` — the command-line interface (docs/cli.md, docs/adr/006-cli.md).
 *
 * `run(argv, io)` is the whole CLI with its input and output injected, so tests run it in-process;
 * `services/cli/datalith.js` is the launcher that npm links as the `datalith` bin.
 * Every failure prints `category: message` on stderr (the anomaly category of the SDK's errors,
 * `incorrect` for bad usage) and exits 1 (2 for bad usage).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { AccessKeyScope, Client, Db, KeyAdmin, TxReport } from '../client';
import { HttpTransport } from '../client/remote-http';
import { DatalithError, isDatalithError } from '../engine';
import { planImport } from './batches';
import { parseEntity, parseQueryArgs, parseTimePoint } from './edn-args';
import { datomRows, edn, ednLines, findShape, formatQueryResult, json, table, FORMATS, type Format } from './format';
import { ProgressBar } from './progress';
import { clientFor, describeTarget, resolveTarget, type Target, type TargetOptions } from './target';

export interface OutStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIO {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  /** Read when a command takes its data from standard input. */
  readonly stdin: NodeJS.ReadableStream | { readonly text: string };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

interface GlobalOptions extends TargetOptions {}

class Session {
  private client: Client | undefined;
  constructor(
    readonly target: Target,
    readonly io: CliIO,
  ) {}

  get sdk(): Client {
    this.client ??= clientFor(this.target);
    return this.client;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  out(s: string): void {
    this.io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  }

  err(s: string): void {
    this.io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  }
}

function version(): string {
  // From the sources (services/cli) or the build (dist/services/cli), the package root is up.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'datalith') return pkg.version ?? '0.0.0';
    }
  }
  return '0.0.0';
}

async function readAll(stdin: CliIO['stdin']): Promise<string> {
  if ('text' in stdin) return stdin.text;
  const chunks: Buffer[] = [];
  for await (const c of stdin as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** `-` is standard input, `@file` a file; anything else the text itself. */
async function textArg(io: CliIO, what: string, arg: string): Promise<string> {
  if (arg === '-') return readAll(io.stdin);
  if (arg.startsWith('@')) return readFile(io, what, arg.slice(1));
  return arg;
}

function readFile(io: CliIO, what: string, file: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new DatalithError('not-found', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'cli/file');
  }
}

const positiveInt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};
const nonNegativeInt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};

const formatOption = (dflt: Format): Option => new Option('-f, --format <format>', 'output format').choices(FORMATS).default(dflt);

interface TimeOptions {
  asOf?: string;
  since?: string;
  history?: boolean;
}

function addTimeOptions(c: Command): Command {
  return c
    .option('--as-of <t|instant>', 'read the database as of a t or an instant')
    .option('--since <t|instant>', 'read only what was added after a t or an instant')
    .option('--history', 'read the history (every assertion and retraction)');
}

function filtered(db: Db, o: TimeOptions): Db {
  let d = db;
  if (o.asOf !== undefined) d = d.asOf(parseTimePoint('--as-of', o.asOf));
  if (o.since !== undefined) d = d.since(parseTimePoint('--since', o.since));
  if (o.history === true) d = d.history();
  return d;
}

function reportJson(r: TxReport): Record<string, unknown> {
  return { t: r.dbAfter.t, basisT: r.dbBefore.t, tempids: r.tempids, txData: r.txData };
}

export function buildProgram(io: CliIO, run: (fn: (s: Session, cmd: Command) => Promise<void>) => (...args: unknown[]) => Promise<void>): Command {
  const program = new Command()
    .name('datalith')
    .description('Work with Datalith databases: through an endpoint (npm start, or a deployed system), or in-process on a directory.')
    .version(version(), '-V, --version')
    .option('-e, --endpoint <url>', 'the endpoint (default: $DATALITH_ENDPOINT, else http://127.0.0.1:8080)')
    .option('-k, --access-key-file <file>', 'file holding the access key (default: $DATALITH_ACCESS_KEY, $DATALITH_ACCESS_KEY_FILE, or ./.datalith/access-key for a local endpoint)')
    .option('-l, --local <dir>', 'use the in-process engine with its data in <dir> instead of an endpoint')
    .option('--timeout <ms>', 'per-call timeout for an endpoint, retries included (default 60000)', positiveInt('--timeout'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`incorrect: ${s.replace(/^error: /, '')}`),
    });

  // databases ---------------------------------------------------------------------------------
  const databases = program.command('databases').alias('db').description('list, create and delete databases');
  databases.command('list').alias('ls').description('list the databases')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const names = await s.sdk.listDatabases();
      const f = cmd.opts<{ format: Format }>().format;
      if (f === 'json') s.out(json(names));
      else if (f === 'edn') s.out(edn(names));
      else if (names.length > 0) s.out(names.join('\n'));
    }));
  databases.command('create <name>').description('create a database (nothing happens if it exists)')
    .action(run(async (s, cmd) => {
      const name = cmd.args[0] as string;
      const existed = (await s.sdk.listDatabases()).includes(name);
      await s.sdk.createDatabase(name);
      s.out(existed ? `${name} already exists` : `created ${name}`);
    }));
  databases.command('delete <name>').alias('rm').description('delete a database and all its data')
    .action(run(async (s, cmd) => {
      const name = cmd.args[0] as string;
      if (!(await s.sdk.deleteDatabase(name))) throw new DatalithError('not-found', `database ${name} does not exist`, 'db.error/db-not-found');
      s.out(`deleted ${name}`);
    }));

  // transact ----------------------------------------------------------------------------------
  program.command('transact <db> [file]')
    .description('transact EDN transaction data from a file (or standard input): one transaction per top-level vector; large vectors are split into batches')
    .option('-b, --batch-size <n>', 'operations per transaction when a vector is split', positiveInt('--batch-size'), 1000)
    .option('--tx-id <prefix>', 'idempotency: batch i is sent with transaction id <prefix>-i, so re-running an interrupted import skips what was committed')
    .option('--progress', 'show a progress bar on stderr (default: on a terminal, for more than one transaction)')
    .option('--no-progress', 'no progress bar')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const [dbName, file] = cmd.args as [string, string | undefined];
      const o = cmd.opts<{ batchSize: number; txId?: string; progress?: boolean; format: Format }>();
      const text = file === undefined || file === '-' ? await readAll(s.io.stdin) : readFile(s.io, 'the transaction file', file);
      const plan = planImport(text, o.batchSize);
      const conn = await s.sdk.connect(dbName);
      const showProgress = o.progress ?? (s.io.stderr.isTTY === true && plan.batches.length > 1);
      const bar = showProgress ? new ProgressBar(s.io.stderr, plan.operations, 'operations') : undefined;
      let done = 0;
      let datoms = 0;
      let first: number | undefined;
      let last = 0;
      const reports: TxReport[] = [];
      try {
        for (const [i, b] of plan.batches.entries()) {
          let r: TxReport;
          try {
            r = await conn.transact(b.data, o.txId !== undefined ? { txId: `${o.txId}-${i}` } : {});
          } catch (e) {
            if (isDatalithError(e) && plan.batches.length > 1) {
              const committed = i === 0 ? 'nothing was committed' : `transactions 1-${i} were committed (up to t ${last})`;
              throw new DatalithError(e.category, `transaction ${i + 1} of ${plan.batches.length} failed: ${e.message} (${committed})`, e.code, e.data);
            }
            throw e;
          }
          first ??= r.dbAfter.t;
          last = r.dbAfter.t;
          done += b.operations;
          datoms += r.txData.length;
          if (o.format !== 'table') s.out(o.format === 'json' ? json(reportJson(r)) : edn(reportJson(r)));
          else if (plan.batches.length === 1) reports.push(r);
          bar?.update(done, `t ${last}`);
        }
      } finally {
        bar?.finish();
      }
      if (o.format !== 'table') return;
      if (reports.length === 1) {
        const r = reports[0] as TxReport;
        s.out(`transacted at t ${r.dbAfter.t}: ${r.txData.length} datoms`);
        const tempids = Object.entries(r.tempids);
        if (tempids.length > 0) s.out(table(['tempid', 'entity'], tempids.map(([k, v]) => [k, v])));
      } else {
        s.out(`transacted ${plan.operations} operations in ${plan.batches.length} transactions (t ${first}..${last}): ${datoms} datoms`);
      }
    }));

  // q / pull ----------------------------------------------------------------------------------
  addTimeOptions(program.command('q <db> <query>')
    .description('run a Datalog query (EDN; "-" reads it from standard input, @file from a file) with the database as $'))
    .option('-a, --args <edn>', 'the other inputs, as an EDN vector, e.g. \'["Nina Simone"]\'')
    .option('--limit <n>', 'at most n results', positiveInt('--limit'))
    .option('--offset <n>', 'skip the first n results', nonNegativeInt('--offset'))
    .option('--query-timeout <ms>', 'abandon the query after this many milliseconds', positiveInt('--query-timeout'))
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const [dbName, queryArg] = cmd.args as [string, string];
      const o = cmd.opts<TimeOptions & { args?: string; limit?: number; offset?: number; queryTimeout?: number; format: Format }>();
      const query = await textArg(s.io, 'the query file', queryArg);
      const args = parseQueryArgs(o.args);
      const db = filtered(await (await s.sdk.connect(dbName)).db(), o);
      const result = o.limit !== undefined || o.offset !== undefined || o.queryTimeout !== undefined
        ? await db.q({
          query,
          args,
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
          ...(o.offset !== undefined ? { offset: o.offset } : {}),
          ...(o.queryTimeout !== undefined ? { timeout: o.queryTimeout } : {}),
        })
        : await db.q(query, ...args);
      s.out(formatQueryResult(result, findShape(query), o.format));
    }));

  addTimeOptions(program.command('pull <db> <selector> <eid>')
    .description('pull an entity: <eid> is an entity id, an ident (:ns/name) or a lookup ref ([:artist/name "Nina Simone"])'))
    .addOption(formatOption('edn'))
    .action(run(async (s, cmd) => {
      const [dbName, selectorArg, eidArg] = cmd.args as [string, string, string];
      const o = cmd.opts<TimeOptions & { format: Format }>();
      const selector = await textArg(s.io, 'the selector file', selectorArg);
      const db = filtered(await (await s.sdk.connect(dbName)).db(), o);
      const result = await db.pull(selector, parseEntity(eidArg));
      if (o.format === 'json') s.out(json(result));
      else if (o.format === 'edn') s.out(edn(result));
      else s.out(table(['attribute', 'value'], Object.entries(result ?? {}).map(([k, v]) => [`:${k}`, v])));
    }));

  // tx-range ----------------------------------------------------------------------------------
  program.command('tx-range <db>')
    .description('the transaction log: every datom of the transactions with start <= t < end')
    .option('-s, --start <t|instant>', 'first t (or instant) to include')
    .option('-E, --end <t|instant>', 'first t (or instant) not to include')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const dbName = cmd.args[0] as string;
      const o = cmd.opts<{ start?: string; end?: string; format: Format }>();
      const conn = await s.sdk.connect(dbName);
      // Page by page, so a long log is not refused by the node's row limit.
      const txs = [];
      for await (const tx of conn.iterTxRange({
        ...(o.start !== undefined ? { start: parseTimePoint('--start', o.start) } : {}),
        ...(o.end !== undefined ? { end: parseTimePoint('--end', o.end) } : {}),
      })) txs.push(tx);
      if (o.format === 'json') s.out(json(txs));
      else if (o.format === 'edn') s.out(ednLines(txs));
      else s.out(table(['t', 'e', 'a', 'v', 'tx', 'added'], txs.flatMap((tx) => datomRows(tx.data).map((r) => [tx.t, ...r]))));
    }));

  // keys --------------------------------------------------------------------------------------
  const keys = program.command('keys').description('create, list and revoke access keys (needs the admin key)');
  keys.command('create')
    .description('create an access key: --admin, or --db NAME with --read-only or --read-write; the key is printed once')
    .option('--admin', 'a key with every right')
    .option('--db <name>', 'the database a scoped key applies to')
    .option('--read-only', 'reads only')
    .option('--read-write', 'reads and transactions')
    .option('--description <text>', 'what the key is for')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const o = cmd.opts<{ admin?: boolean; db?: string; readOnly?: boolean; readWrite?: boolean; description?: string; format: Format }>();
      let scope: AccessKeyScope;
      if (o.admin === true && o.db === undefined && o.readOnly !== true && o.readWrite !== true) scope = 'admin';
      else if (o.admin !== true && o.db !== undefined && o.readOnly !== o.readWrite) scope = { db: o.db, access: o.readOnly === true ? 'read-only' : 'read-write' };
      else throw new DatalithError('incorrect', 'give either --admin, or --db NAME with one of --read-only and --read-write', 'cli/invalid-scope');
      const created = await keyAdmin(s).createKey(scope, o.description !== undefined ? { description: o.description } : {});
      if (o.format === 'json') s.out(json(created));
      else if (o.format === 'edn') s.out(edn(created));
      else {
        s.out(table(['id', 'scope', 'key'], [[created.id, scopeText(created.scope), created.key]]));
        s.err('Keep the key now: it is stored only as a digest and cannot be shown again.');
      }
    }));
  keys.command('list').alias('ls').description('list access keys (never the keys themselves)')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const list = await keyAdmin(s).listKeys();
      const f = cmd.opts<{ format: Format }>().format;
      if (f === 'json') s.out(json(list));
      else if (f === 'edn') s.out(ednLines(list));
      else s.out(table(['id', 'scope', 'created', 'by', 'description'], list.map((k) => [k.id, scopeText(k.scope), k.createdAt, k.createdBy, k.description ?? ''])));
    }));
  keys.command('revoke <id>').description('revoke an access key by its id')
    .action(run(async (s, cmd) => {
      const id = cmd.args[0] as string;
      const revoked = await keyAdmin(s).revokeKey(id);
      if (!revoked) throw new DatalithError('not-found', `no access key with id ${id}`, 'auth/key-not-found');
      s.out(`revoked ${id}`);
    }));

  // gc-storage --------------------------------------------------------------------------------
  program.command('gc-storage')
    .description('delete index segments no current root reaches and older than --older-than (needs the admin key)')
    .requiredOption('--older-than <age>', 'only garbage older than this: 30m, 12h, 7d, or milliseconds (at least 1h)')
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const o = cmd.opts<{ olderThan: string; dryRun?: boolean; format: Format }>();
      const t = s.target;
      if (t.kind === 'local') {
        throw new DatalithError('unsupported', 'the in-process engine (--local) keeps no index segments; run gc-storage against an endpoint', 'cli/gc-unsupported');
      }
      const olderThan = /^\d+$/.test(o.olderThan) ? Number(o.olderThan) : o.olderThan;
      // A sweep of a large bucket takes minutes: a longer default than other calls.
      const http = new HttpTransport({ endpoint: t.endpoint, ...(t.accessKey !== undefined ? { accessKey: t.accessKey } : {}), timeout: t.timeout ?? GC_TIMEOUT_MS });
      let report: GcReport;
      try {
        report = await http.call('POST', '/v1/admin/gc-storage', { olderThan, ...(o.dryRun === true ? { dryRun: true } : {}) }) as GcReport;
      } catch (e) {
        if (isDatalithError(e) && e.code === 'http/route-not-found') {
          throw new DatalithError('unsupported', `${t.endpoint} has no segment garbage collection (its nodes predate /v1/admin/gc-storage)`, 'cli/gc-unsupported');
        }
        throw e;
      } finally {
        await http.close();
      }
      if (o.format === 'json') s.out(json(report));
      else if (o.format === 'edn') s.out(edn(report));
      else s.out(gcSummary(report, o.olderThan));
      if (report.totals.errors > 0) throw new DatalithError('fault', `${report.totals.errors} database(s) could not be swept (see the table)`, 'cli/gc-errors');
    }));

  // status ------------------------------------------------------------------------------------
  program.command('status')
    .description('the cluster: health, nodes, databases')
    .addOption(formatOption('table'))
    .action(run(async (s, cmd) => {
      const f = cmd.opts<{ format: Format }>().format;
      const t = s.target;
      if (t.kind === 'local') {
        const dbs = await s.sdk.listDatabases();
        const st = { target: describeTarget(t), databases: dbs };
        if (f !== 'table') s.out(f === 'json' ? json(st) : edn(st));
        else s.out(`target     ${st.target}\ndatabases  ${dbs.length}${dbs.length > 0 ? ` (${dbs.join(', ')})` : ''}`);
        return;
      }
      const http = new HttpTransport({ endpoint: t.endpoint, ...(t.accessKey !== undefined ? { accessKey: t.accessKey } : {}), timeout: t.timeout ?? 5_000 });
      try {
        const health = await http.call('GET', '/health') as { status: string; nodeId?: string };
        const cluster = await http.call('GET', '/v1/cluster') as { nodes: Array<{ id: string; url: string; pid: number; healthy: boolean }> };
        const dbs = await s.sdk.listDatabases();
        const st = { endpoint: t.endpoint, health: health.status, answeredBy: health.nodeId, nodes: cluster.nodes, databases: dbs };
        if (f !== 'table') {
          s.out(f === 'json' ? json(st) : edn(st));
          return;
        }
        const healthy = cluster.nodes.filter((n) => n.healthy).length;
        s.out([
          `endpoint   ${t.endpoint}`,
          `health     ${health.status}${health.nodeId !== undefined ? ` (answered by ${health.nodeId})` : ''}`,
          `nodes      ${cluster.nodes.length} (${healthy} healthy)`,
          ...cluster.nodes.map((n) => `  ${n.id.padEnd(10)} ${n.url.padEnd(24)} pid ${String(n.pid).padEnd(8)} ${n.healthy ? 'healthy' : 'unhealthy'}`),
          `databases  ${dbs.length}${dbs.length > 0 ? ` (${dbs.join(', ')})` : ''}`,
        ].join('\n'));
      } finally {
        await http.close();
      }
    }));

  return program;
}

/** What /v1/admin/gc-storage answers (services/node/storage/segment-gc.ts). */
interface GcCounts { segments: number; bytes: number }
interface GcReport {
  dryRun: boolean;
  cutoff: string;
  databases: Array<{ db: string; name?: string; state: 'live' | 'deleted'; roots: number[]; live: GcCounts; deleted: GcCounts; keptYoung: GcCounts; error?: { category: string; message: string } }>;
  totals: { databases: number; live: GcCounts; deleted: GcCounts; keptYoung: GcCounts; errors: number };
}

const GC_TIMEOUT_MS = 15 * 60_000;

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

const countText = (c: GcCounts): string => `${c.segments} (${sizeText(c.bytes)})`;

function gcSummary(r: GcReport, olderThan: string): string {
  const t = r.totals;
  const head = `${r.dryRun ? 'would delete' : 'deleted'} ${countText(t.deleted)} of ${t.databases} database(s); `
    + `kept ${countText(t.live)} live and ${countText(t.keptYoung)} younger than ${olderThan} (before ${r.cutoff})`;
  if (r.databases.length === 0) return head;
  const errors = t.errors > 0;
  const rows = r.databases.map((d) => [
    d.name ?? `${d.db} (deleted)`, d.roots.join(' '), countText(d.live), countText(d.deleted), countText(d.keptYoung),
    ...(errors ? [d.error === undefined ? '' : `${d.error.category}: ${d.error.message}`] : []),
  ]);
  const columns = ['database', 'roots', 'live', r.dryRun ? 'garbage' : 'deleted', 'young', ...(errors ? ['error'] : [])];
  return `${head}\n${table(columns, rows)}`;
}

function scopeText(scope: AccessKeyScope): string {
  return scope === 'admin' ? 'admin' : `${scope.access} ${scope.db}`;
}

/**
 * Key administration through the SDK (`createKey`, `listKeys`, `revokeKey` of remote clients).
 * The in-process engine has no keys, and nodes from before `/v1/keys` have no such routes: both
 * are `unsupported`.
 */
function keyAdmin(s: Session): KeyAdmin {
  const t = s.target;
  if (t.kind === 'local') {
    throw new DatalithError('unsupported', 'access keys protect endpoints; the in-process engine (--local) has none', 'cli/keys-unsupported');
  }
  const sdk = s.sdk as Client & Partial<KeyAdmin>;
  if (typeof sdk.createKey !== 'function' || typeof sdk.listKeys !== 'function' || typeof sdk.revokeKey !== 'function') {
    throw new DatalithError('unsupported', 'this client has no key administration', 'cli/keys-unsupported');
  }
  const admin = sdk as Client & KeyAdmin;
  const unsupportedRoute = (e: unknown): never => {
    if (isDatalithError(e) && e.code === 'http/route-not-found') {
      throw new DatalithError('unsupported', `${t.endpoint} has no key administration (its nodes predate /v1/keys)`, 'cli/keys-unsupported');
    }
    throw e;
  };
  return {
    createKey: (scope, options) => admin.createKey(scope, options).catch(unsupportedRoute),
    listKeys: () => admin.listKeys().catch(unsupportedRoute),
    revokeKey: (id) => admin.revokeKey(id).catch(unsupportedRoute),
  };
}

/** Runs the CLI; resolves to the exit code. `argv` excludes `node` and the script. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let code = 0;
  const fail = (e: unknown): void => {
    if (isDatalithError(e)) {
      io.stderr.write(`${e.category}: ${e.message}\n`);
      code = 1;
    } else {
      io.stderr.write(`fault: ${(e as Error)?.message ?? String(e)}\n`);
      code = 1;
    }
  };
  const session = { current: undefined as Session | undefined };
  const wrap = (fn: (s: Session, cmd: Command) => Promise<void>) => async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const s = new Session(resolveTarget(g, io.env, io.cwd), io);
    session.current = s;
    await fn(s, cmd);
  };
  const program = buildProgram(io, wrap);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by outputError.
      code = e.exitCode === 0 ? 0 : 2;
    } else {
      fail(e);
    }
  } finally {
    try {
      await session.current?.close();
    } catch (e) {
      if (code === 0) fail(e);
    }
  }
  return code;
}

if (require.main === module) {
  void run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => {
    process.exitCode = code;
  });
}
