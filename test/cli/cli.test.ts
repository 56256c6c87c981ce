/**
 * `npx datalith`: the pieces (import batching, output formats, where it connects), every command
 * in-process against one local cluster (random port, temporary data directory) and against
 * `--local DIR`, and the launcher as a real process (bin, stdin, exit codes).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readEdn, type EdnValue } from '../../services/engine/edn';
import { planImport, splitTransaction } from '../../services/cli/batches';
import { findShape, formatQueryResult, edn } from '../../services/cli/format';
import { run, type CliIO } from '../../services/cli/main';
import { DEFAULT_ENDPOINT, resolveTarget } from '../../services/cli/target';
import { startLocalCluster, type LocalCluster } from '../../services/local/local-cluster';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const exec = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const LAUNCHER = path.join(ROOT, 'services', 'cli', 'datalith.js');
const tmpDirs: string[] = [];
const tmp = (prefix: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('import batches', () => {
  const ops = (text: string): EdnValue[] => readEdn(text) as EdnValue[];

  test('a small vector is one transaction; each top-level vector is its own', () => {
    const plan = planImport('[{:a/b 1} {:a/b 2}] ;; a comment\n[[:db/add "x" :a/b 3]]', 1000);
    expect(plan.batches.map((b) => [b.source, b.operations, b.data.length])).toEqual([[0, 2, 2], [1, 1, 1]]);
    expect(plan.operations).toBe(3);
  });

  test('operations sharing a tempid stay together, in the order of their first operation', () => {
    const { batches } = splitTransaction(ops(`[{:db/id "a" :n 1} {:n 2} [:db/add "a" :m 3] {:n 4} {:db/id "b" :r "a"} {:n 5}]`), 2);
    expect(batches.map((b) => b.map((x) => edn(x)))).toEqual([
      ['{:db/id "a", :n 1}', '[:db/add "a" :m 3]', '{:db/id "b", :r "a"}'],
      ['{:n 2}', '{:n 4}'],
      ['{:n 5}'],
    ]);
  });

  test('operations on "datomic.tx" are repeated in every batch', () => {
    const plan = planImport('[{:db/id "datomic.tx" :db/txInstant #inst "2020-01-01"} {:n 1} {:n 2} {:n 3}]', 2);
    expect(plan.batches.map((b) => b.data.length)).toEqual([3, 2]);
    expect(plan.batches.reduce((n, b) => n + b.operations, 0)).toBe(4);
  });

  test('bad input', () => {
    expect(() => planImport('  ;; nothing\n', 10)).toThrow(/no transaction data/);
    expect(() => planImport('{:a 1}', 10)).toThrow(/not a vector of transaction data/);
    expect(() => planImport('[{:a 1}', 10)).toThrow(/unclosed vector/);
    expect(() => planImport('[]', 0)).toThrow(/--batch-size/);
  });
});

describe('output', () => {
  test('the find spec names the columns and the layout', () => {
    expect(findShape('[:find ?a (count ?b) :where [?a :x ?b]]')).toEqual({ kind: 'relation', columns: ['?a', '(count ?b)'] });
    expect(findShape('[:find [?a ...] :where [?a :x]]')).toEqual({ kind: 'collection', column: '?a' });
    expect(findShape('[:find ?a . :where [?a :x]]')).toEqual({ kind: 'scalar', column: '?a' });
    expect(findShape('[:find [?a ?b] :where [?a :x ?b]]')).toEqual({ kind: 'tuple', columns: ['?a', '?b'] });
    expect(findShape('[:find ?a ?b :keys x y :where [?a :x ?b]]')).toEqual({ kind: 'maps', columns: ['x', 'y'] });
    expect(findShape('{:find [?a] :where [[?a :x]]}')).toEqual({ kind: 'relation', columns: ['?a'] });
    expect(findShape({ query: '[:find ?z :where [?z :x]]' })).toEqual({ kind: 'relation', columns: ['?z'] });
    expect(findShape('not edn [')).toBeUndefined();
  });

  test('table, edn and json', () => {
    const rows = [['b', 2, new Date('2024-01-01T00:00:00Z')], ['a', 10, new Date('2023-01-01T00:00:00Z')]];
    const shape = findShape('[:find ?n ?c ?d :where [?e :n ?n]]');
    expect(formatQueryResult(rows, shape, 'table')).toBe([
      '?n  ?c  ?d',
      '--  --  ------------------------',
      'a   10  2023-01-01T00:00:00.000Z',
      'b   2   2024-01-01T00:00:00.000Z',
    ].join('\n'));
    expect(formatQueryResult([[':k/a', 12n]], shape, 'edn')).toBe('[[:k/a 12N]]');
    expect(formatQueryResult([['x', new Date(0)]], shape, 'json')).toBe('[["x",{"#inst":"1970-01-01T00:00:00.000Z"}]]');
    expect(formatQueryResult(null, findShape('[:find ?a . :where [?a :x]]'), 'table')).toBe('nil');
    expect(edn({ 'db/id': 1, 'a/b': ':c/d', Name: 'x' })).toBe('{:db/id 1, :a/b :c/d, :Name "x"}');
  });
});

describe('where it connects', () => {
  const env = (o: Record<string, string>): NodeJS.ProcessEnv => o;

  test('endpoint: flag, then DATALITH_ENDPOINT, then npm start\'s default', () => {
    const cwd = tmp('cli-target-');
    expect(resolveTarget({}, env({}), cwd)).toMatchObject({ kind: 'endpoint', endpoint: DEFAULT_ENDPOINT, accessKey: undefined });
    expect(resolveTarget({}, env({ DATALITH_ENDPOINT: 'http://e:1' }), cwd)).toMatchObject({ endpoint: 'http://e:1' });
    expect(resolveTarget({ endpoint: 'http://f:2' }, env({ DATALITH_ENDPOINT: 'http://e:1' }), cwd)).toMatchObject({ endpoint: 'http://f:2' });
    expect(resolveTarget({ local: 'data' }, env({}), cwd)).toEqual({ kind: 'local', dir: path.join(cwd, 'data') });
    expect(() => resolveTarget({ local: 'data', endpoint: 'http://x' }, env({}), cwd)).toThrow(/not both/);
  });

  test('key: file flag, then DATALITH_ACCESS_KEY, then DATALITH_ACCESS_KEY_FILE, then ./.datalith/access-key for a loopback endpoint only', () => {
    const cwd = tmp('cli-key-');
    fs.mkdirSync(path.join(cwd, '.datalith'));
    fs.writeFileSync(path.join(cwd, '.datalith', 'access-key'), 'local-key\n');
    fs.writeFileSync(path.join(cwd, 'k1'), 'flag-key\n');
    fs.writeFileSync(path.join(cwd, 'k2'), 'env-file-key');
    expect(resolveTarget({}, env({}), cwd)).toMatchObject({ accessKey: 'local-key' });
    expect(resolveTarget({ endpoint: 'https://datalith.example.com' }, env({}), cwd)).toMatchObject({ accessKey: undefined });
    expect(resolveTarget({}, env({ DATALITH_ACCESS_KEY_FILE: 'k2' }), cwd)).toMatchObject({ accessKey: 'env-file-key' });
    expect(resolveTarget({}, env({ DATALITH_ACCESS_KEY: 'env-key', DATALITH_ACCESS_KEY_FILE: 'k2' }), cwd)).toMatchObject({ accessKey: 'env-key' });
    expect(resolveTarget({ accessKeyFile: 'k1' }, env({ DATALITH_ACCESS_KEY: 'env-key' }), cwd)).toMatchObject({ accessKey: 'flag-key' });
    expect(() => resolveTarget({ accessKeyFile: 'missing' }, env({}), cwd)).toThrow(/cannot read the access key file/);
  });
});

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

interface Ran {
  code: number;
  out: string;
  err: string;
}

describe('commands against a local cluster', () => {
  let cluster: LocalCluster;
  let cwd: string;
  const cli = async (argv: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Ran> => {
    const stdout = new Capture();
    const stderr = new Capture();
    const io: CliIO = {
      stdout,
      stderr,
      stdin: { text: opts.stdin ?? '' },
      env: opts.env ?? { DATALITH_ENDPOINT: cluster.endpoint, DATALITH_ACCESS_KEY: cluster.accessKey },
      cwd,
    };
    const code = await run(argv, io);
    return { code, out: stdout.text, err: stderr.text };
  };
  const ok = async (argv: string[], opts?: { stdin?: string; env?: Record<string, string> }): Promise<string> => {
    const r = await cli(argv, opts);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    return r.out;
  };

  beforeAll(async () => {
    cluster = await startLocalCluster({ port: 0, dataDir: tmp('datalith-cli-'), childLogs: 'none', stopGraceMs: 2_000 });
    cwd = tmp('cli-cwd-');
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test('databases and a first transaction from stdin', async () => {
    expect(await ok(['databases', 'create', 'cli'])).toBe('created cli\n');
    expect(await ok(['db', 'ls', '-f', 'json'])).toBe('["cli"]\n');
    const schema = '[{:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}' +
      ' {:db/ident :p/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';
    expect(await ok(['transact', 'cli'], { stdin: schema })).toBe('transacted at t 1: 9 datoms\n');
    expect(await ok(['transact', 'cli', '-'], { stdin: '[{:db/id "x" :p/name "x" :p/n 1}]' })).toBe('transacted at t 2: 4 datoms\ntempid  entity\n------  ------\nx       1002\n');
  });

  test('a large import: batches, progress on stderr, --tx-id makes a re-run commit nothing', async () => {
    const ops = Array.from({ length: 2500 }, (_, i) => `{:p/name "n${i}" :p/n ${i}}`).join('\n');
    fs.writeFileSync(path.join(cwd, 'big.edn'), `[${ops}]`);
    const first = await cli(['transact', 'cli', 'big.edn', '--batch-size', '1000', '--tx-id', 'big-import', '--progress']);
    expect(first.code).toBe(0);
    expect(first.out).toBe('transacted 2500 operations in 3 transactions (t 3..5): 5006 datoms\n');
    expect(first.err).toMatch(/\] 100% 2500\/2500 operations/);
    const again = await cli(['transact', 'cli', 'big.edn', '--batch-size', '1000', '--tx-id', 'big-import', '--no-progress']);
    expect(again).toEqual({ code: 0, out: first.out, err: '' });
    expect(await ok(['q', 'cli', '[:find (count ?e) . :where [?e :p/n]]'])).toBe('2501\n');
    expect(await ok(['q', 'cli', '[:find (max ?t) . :where [?tx :db/txInstant] [(- ?tx 536870912) ?t]]'])).toBe('5\n');
  });

  test('a failing batch says what was committed', async () => {
    const r = await cli(['transact', 'cli', '--batch-size', '1'], { stdin: '[{:p/name "ok"} {:p/name "bad" :p/n "NaN"}]' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^incorrect: transaction 2 of 2 failed: .*:p\/n.* \(transactions 1-1 were committed \(up to t 6\)\)\n$/);
  });

  test('q: inputs, formats, time, limit', async () => {
    expect(await ok(['q', 'cli', '[:find ?n . :in $ ?name :where [?e :p/name ?name] [?e :p/n ?n]]', '--args', '["n42"]'])).toBe('42\n');
    expect(await ok(['q', 'cli', '[:find ?name ?n :where [?e :p/name ?name] [?e :p/n ?n] [(< ?n 2)]]', '-f', 'edn'])).toBe('[["n0" 0]\n ["n1" 1]\n ["x" 1]]\n');
    expect(await ok(['q', 'cli', '[:find ?name ?n :where [?e :p/name ?name] [?e :p/n ?n] [(< ?n 2)]]', '-f', 'json'])).toBe('[["n0",0],["n1",1],["x",1]]\n');
    expect(await ok(['q', 'cli', '[:find (count ?e) . :where [?e :p/n]]', '--as-of', '2'])).toBe('1\n');
    expect(await ok(['q', 'cli', '[:find (count ?e) . :where [?e :p/n]]', '--since', '4'])).toBe('500\n');
    expect(await ok(['q', 'cli', '[:find [?n ...] :where [_ :p/n ?n]]', '--limit', '3', '-f', 'json'])).toMatch(/^\[\d+,\d+,\d+\]\n$/);
    fs.writeFileSync(path.join(cwd, 'q.edn'), '[:find ?e . :where [?e :p/name "x"]]');
    expect(await ok(['q', 'cli', '@q.edn'])).toBe('1002\n');
    expect(await ok(['q', 'cli', '-'], { stdin: '[:find ?e . :where [?e :p/name "x"]]' })).toBe('1002\n');
    const history = await ok(['q', 'cli', '[:find ?n ?added :where [?e :p/name "x"] [?e :p/n ?n _ ?added]]', '--history']);
    expect(history).toBe('?n  ?added\n--  ------\n1   true\n');
  });

  test('pull and tx-range', async () => {
    expect(await ok(['pull', 'cli', '[:p/name :p/n]', '[:p/name "x"]'])).toBe('{:p/name "x", :p/n 1}\n');
    expect(await ok(['pull', 'cli', '[:p/name]', '1002', '-f', 'json'])).toBe('{"p/name":"x"}\n');
    expect(await ok(['pull', 'cli', '[:db/ident]', ':p/name'])).toBe('{:db/ident :p/name}\n');
    const log = await ok(['tx-range', 'cli', '--start', '2', '--end', '3']);
    expect(log.split('\n').slice(0, 2)).toEqual([
      't  e          a              v                                     tx         added',
      '-  ---------  -------------  ------------------------------------  ---------  -----',
    ]);
    expect(log).toContain('2  1002       :p/name        x                                     536870914  true');
    expect(log).toMatch(/^2  536870914  :db\/txId       [0-9a-f-]{36}  536870914  true$/m);
    const json = JSON.parse(await ok(['tx-range', 'cli', '--start', '2', '--end', '3', '-f', 'json'])) as Array<{ t: number; data: unknown[] }>;
    expect(json.map((tx) => [tx.t, tx.data.length])).toEqual([[2, 4]]);
  });

  test('keys: create, use, list, revoke', async () => {
    const created = JSON.parse(await ok(['keys', 'create', '--db', 'cli', '--read-only', '--description', 'ci', '-f', 'json'])) as { id: string; key: string };
    expect(created.key).toMatch(/^dlk\./);
    const asReader = { DATALITH_ENDPOINT: cluster.endpoint, DATALITH_ACCESS_KEY: created.key };
    expect(await ok(['q', 'cli', '[:find ?e . :where [?e :p/name "x"]]'], { env: asReader })).toBe('1002\n');
    const refused = await cli(['transact', 'cli'], { stdin: '[{:p/name "y"}]', env: asReader });
    expect(refused).toMatchObject({ code: 1, out: '' });
    expect(refused.err).toMatch(/^forbidden: /);
    expect(await ok(['keys', 'list'])).toMatch(new RegExp(`${created.id}  read-only cli .* ci\\n`));
    expect(await ok(['keys', 'revoke', created.id])).toBe(`revoked ${created.id}\n`);
    expect((await cli(['keys', 'revoke', created.id])).err).toBe(`not-found: no access key with id ${created.id}\n`);
    expect((await cli(['keys', 'create', '--admin', '--read-only'])).err).toMatch(/^incorrect: give either --admin, or --db NAME/);
  });

  test('status', async () => {
    const out = await ok(['status']);
    expect(out).toContain(`endpoint   ${cluster.endpoint}\nhealth     ok (answered by node-`);
    expect(out).toMatch(/databases  1 \(cli\)\n$/);
    const json = JSON.parse(await ok(['status', '-f', 'json'])) as { health: string; nodes: Array<{ id: string }> };
    expect(json.health).toBe('ok');
    expect(json.nodes.length).toBeGreaterThanOrEqual(1);
  });

  test('errors: category: message, exit 1; usage: exit 2', async () => {
    expect(await cli(['q', 'nope', '[:find ?e :where [?e :p/n]]'])).toEqual({ code: 1, out: '', err: 'not-found: Database nope does not exist\n' });
    expect(await cli(['databases', 'delete', 'nope'])).toEqual({ code: 1, out: '', err: 'not-found: database nope does not exist\n' });
    expect((await cli(['q', 'cli', '[:find ?x :where [?e :p/n]]'])).err).toMatch(/^incorrect: .*\?x/);
    expect((await cli(['q', 'cli', '[:find ?e :where [?e :p/n]]', '--args', '{:a 1}'])).err).toMatch(/^incorrect: --args must be an EDN vector/);
    expect((await cli(['q', 'cli', '[:find ?e :where [?e :p/n]]', '--as-of', 'yesterday'])).err).toMatch(/^incorrect: --as-of takes a t/);
    expect((await cli(['pull', 'cli', '[*]'])).code).toBe(2);
    expect((await cli(['frobnicate'])).err).toMatch(/^incorrect: unknown command 'frobnicate'/);
    expect((await cli(['q', 'cli', '[:find ?e :where [?e :p/n]]', '-f', 'xml'])).code).toBe(2);
    const wrongKey = await cli(['databases', 'list'], { env: { DATALITH_ENDPOINT: cluster.endpoint, DATALITH_ACCESS_KEY: 'wrong' } });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err).toMatch(/^forbidden: /);
    const down = await cli(['--timeout', '300', 'databases', 'list'], { env: { DATALITH_ENDPOINT: 'http://127.0.0.1:1' } });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^(unavailable|interrupted): /);
  });
});

describe('--local DIR', () => {
  test('the in-process engine keeps data in the directory across invocations', async () => {
    const cwd = tmp('cli-local-');
    const io = (stdin = ''): CliIO & { stdout: Capture; stderr: Capture } => ({
      stdout: new Capture(), stderr: new Capture(), stdin: { text: stdin }, env: {}, cwd,
    });
    const call = async (argv: string[], stdin?: string): Promise<string> => {
      const x = io(stdin);
      expect(await run(['--local', 'data', ...argv], x)).toBe(0);
      expect(x.stderr.text).toBe('');
      return x.stdout.text;
    };
    await call(['databases', 'create', 'notes']);
    await call(['transact', 'notes'], '[{:db/ident :note/text :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]');
    await call(['transact', 'notes'], '[{:note/text "hello"}]');
    expect(await call(['q', 'notes', '[:find ?t . :where [_ :note/text ?t]]'])).toBe('hello\n');
    expect(await call(['status'])).toBe(`target     in-process engine, data in ${path.join(cwd, 'data')}\ndatabases  1 (notes)\n`);
    const keys = io();
    expect(await run(['--local', 'data', 'keys', 'list'], keys)).toBe(1);
    expect(keys.stderr.text).toMatch(/^unsupported: /);
  });
});

describe('the launcher, as a process', () => {
  test('--version, help, and an error exit code', async () => {
    const { stdout } = await exec(process.execPath, [LAUNCHER, '--version'], { cwd: ROOT });
    expect(stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const bad = await exec(process.execPath, [LAUNCHER, '--local', tmp('cli-proc-'), 'q', 'nope', '[:find ?e :where [?e :a/b]]'], { cwd: ROOT })
      .catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: 'not-found: Database nope does not exist\n' });
  }, 30_000);

  test('package.json names it as the datalith bin', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(path.resolve(ROOT, pkg.bin['datalith'] as string)).toBe(LAUNCHER);
    expect(fs.statSync(LAUNCHER).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(LAUNCHER, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('transact reads standard input', async () => {
    const dir = tmp('cli-stdin-');
    const runWith = (args: string[], input: string): Promise<{ code: number | null; out: string; err: string }> => new Promise((resolve) => {
      const p = spawn(process.execPath, [LAUNCHER, '--local', dir, ...args], { cwd: ROOT });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      p.on('close', (code) => resolve({ code, out, err }));
      p.stdin.end(input);
    });
    expect(await runWith(['databases', 'create', 'p'], '')).toEqual({ code: 0, out: 'created p\n', err: '' });
    expect(await runWith(['transact', 'p'], '[{:db/ident :a/b :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]'))
      .toEqual({ code: 0, out: 'transacted at t 1: 5 datoms\n', err: '' });
  }, 30_000);
});
