/**
 * The worked example, end to end: create a database, transact the schema and the generated
 * catalog's timeline, and ask the dozen questions of queries.ts.
 *
 *   npx tsx examples/music/run.ts                          in-process, in memory
 *   npx tsx examples/music/run.ts --endpoint URL           a Datalith endpoint (npm start: http://127.0.0.1:8080)
 *        [--access-key-file FILE] [--db NAME] [--seed N]
 *
 * The key: --access-key-file, else $DATALITH_ACCESS_KEY, else ./.datalith/access-key. The
 * database (default `music-example`) must not exist yet: the import dates its transactions in
 * the past, which only works on a new database.
 */
import * as fs from 'node:fs';
import { createClient, type Client, type Connection } from '../../services';
import { formatQueryResult, findShape, edn } from '../../services/cli/format';
import { catalogTransactions, DEFAULT_SEED, SCHEMA_FILE } from './generate';
import { QUESTIONS } from './queries';

export interface ExampleOptions {
  dbName?: string;
  seed?: number;
  /** Where the printout goes (default: nowhere). */
  log?: (line: string) => void;
}

export interface ExampleResult {
  t: number;
  answers: Record<string, unknown>;
}

/** Loads the catalog into a new database: the schema, then each transaction of the timeline. */
export async function loadCatalog(client: Client, dbName: string, seed = DEFAULT_SEED, log: (line: string) => void = () => {}): Promise<Connection> {
  if ((await client.listDatabases()).includes(dbName)) {
    throw Object.assign(new Error(`database ${dbName} already exists (from an earlier run?): pass --db with another name`), { category: 'conflict' });
  }
  await client.createDatabase(dbName);
  const conn = await client.connect(dbName);
  const schema = await conn.transact(fs.readFileSync(SCHEMA_FILE, 'utf8'));
  log(`t ${schema.dbAfter.t}  2019-01-01  the schema (${schema.txData.length} datoms)`);
  for (const tx of catalogTransactions(seed)) {
    const r = await conn.transact(tx.txData);
    log(`t ${r.dbAfter.t}  ${tx.instant.toISOString().slice(0, 10)}  ${tx.note} (${r.txData.length} datoms)`);
  }
  return conn;
}

export async function runExample(client: Client, opts: ExampleOptions = {}): Promise<ExampleResult> {
  const log = opts.log ?? (() => {});
  const dbName = opts.dbName ?? 'music-example';
  log(`Loading the catalog into ${dbName}:`);
  const conn = await loadCatalog(client, dbName, opts.seed ?? DEFAULT_SEED, log);
  const db = await conn.db();
  const stats = await db.stats();
  log(`${stats.datoms} datoms at t ${db.t}\n`);
  const answers: Record<string, unknown> = {};
  for (const [i, question] of QUESTIONS.entries()) {
    const answer = await question.answer(db, conn);
    answers[question.id] = answer;
    log(`${String(i + 1).padStart(2)}. ${question.title}`);
    log(indent(question.query));
    if (question.args !== undefined) log(indent(`inputs: ${question.args.map((a) => (typeof a === 'string' && a.startsWith('[[') ? '%rules' : edn(a))).join(' ')}`));
    const shape = findShape(question.find ?? question.query);
    const printed = shape !== undefined ? formatQueryResult(answer, shape, 'table') : edn(answer);
    log(`${indent(printed, '   → ')}\n`);
  }
  return { t: db.t, answers };
}

function indent(text: string, first = '    '): string {
  return text.split('\n').map((l, i) => (i === 0 ? first : ' '.repeat(first.length)) + l).join('\n');
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i === -1) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw Object.assign(new Error(`${name} needs a value`), { category: 'incorrect' });
  return v;
}

async function main(argv: string[]): Promise<void> {
  const endpoint = option(argv, '--endpoint');
  const keyFile = option(argv, '--access-key-file') ?? (process.env['DATALITH_ACCESS_KEY'] ? undefined : fs.existsSync('.datalith/access-key') ? '.datalith/access-key' : undefined);
  const seed = option(argv, '--seed');
  const client = endpoint === undefined
    ? createClient({ local: {} })
    : createClient({ endpoint, ...(keyFile !== undefined ? { accessKey: fs.readFileSync(keyFile, 'utf8').trim() } : {}) });
  try {
    await runExample(client, {
      ...(option(argv, '--db') !== undefined ? { dbName: option(argv, '--db') as string } : {}),
      ...(seed !== undefined ? { seed: Number(seed) } : {}),
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: { category?: string; message?: string }) => {
    process.stderr.write(`${e.category ?? 'fault'}: ${e.message ?? String(e)}\n`);
    process.exit(1);
  });
}
