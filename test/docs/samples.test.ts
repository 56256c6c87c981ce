/**
 * Every runnable sample of README.md and docs/*.md (conventions in ./harness.ts), on two targets:
 * the in-process client (`createClient({ local: {} })`) and a real local cluster (2 nodes, the
 * embedded storage, the load balancer) started here on a random port with a temporary data
 * directory. Also checks that the documentation this project's docs engineer owns has no sample
 * that escapes the test, and that relative links between docs point at files that exist.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sdk from '../../services';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
import { run, type CliIO } from '../../services/cli/main';
import { startLocalCluster, type LocalCluster } from '../../services/local/local-cluster';
import {
  ANOMALY_LINE, compileDoc, expectedValue, extractBlocks, isRunnable, outputMatches, runsOn, shellSteps,
  type Block, type SampleEnv, type Target,
} from './harness';

const ROOT = path.join(__dirname, '..', '..');
const DOC_FILES = [
  'README.md',
  ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`),
];
/** Documents whose every TypeScript and CLI sample must be runnable (the rest belong to others). */
const STRICT = new Set([
  'README.md', 'docs/getting-started.md', 'docs/data-model.md', 'docs/transactions.md', 'docs/time.md',
  'docs/sdk.md', 'docs/architecture.md', 'docs/operations.md', 'docs/cli.md',
]);

const blocksOf = new Map<string, Block[]>(DOC_FILES.map((f) => [f, extractBlocks(path.join(ROOT, f))]));
const tmpDirs: string[] = [];
const tmp = (prefix: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
};

let cluster: LocalCluster | undefined;
/**
 * Database names earlier documents used on the cluster. Each document starts from an empty
 * system (the databases of the previous one are deleted), but a name deleted and created again
 * can still be served from a node's stale copy of the old database (reported as a node bug:
 * nodes that did not handle the delete keep the old database loaded), so documents must not
 * share database names.
 */
const namesOfEarlierDocs = new Set<string>();
const needsCluster = [...blocksOf.values()].some((bs) => bs.some((b) => isRunnable(b) && runsOn(b, 'cluster')));

beforeAll(async () => {
  if (needsCluster) cluster = await startLocalCluster({ port: 0, dataDir: tmp('datalith-docs-'), childLogs: 'none', stopGraceMs: 2_000 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the docs have no untested samples', () => {
  test.each([...STRICT])('%s', (file) => {
    const blocks = blocksOf.get(file);
    expect(blocks).toBeDefined();
    const escaped = (blocks ?? [])
      .filter((b) => (['ts', 'typescript', 'js', 'javascript'].includes(b.lang) || (b.lang === 'sh' && /(^|[\s|$])npx datalith\b/m.test(b.code))) && !isRunnable(b))
      .map((b) => `${file}:${b.line}`);
    expect(escaped).toEqual([]);
  });

  test('relative links point at files that exist', () => {
    // Being written with access control and limits (issue 7); linked from here already.
    const pending = new Set(['docs/security.md', 'docs/limits.md']);
    const broken: string[] = [];
    for (const file of DOC_FILES) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const resolved = path.join(ROOT, path.dirname(file), target);
        if (!fs.existsSync(resolved) && !pending.has(path.relative(ROOT, resolved))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

function sortKey(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
}

function compare(actual: unknown, expected: unknown): void {
  try {
    expect(actual).toEqual(expected);
  } catch (e) {
    // Query results are sets: the order of their elements is unspecified.
    if (!Array.isArray(actual) || !Array.isArray(expected)) throw e;
    expect([...actual].sort((a, b) => sortKey(a).localeCompare(sortKey(b))))
      .toEqual([...expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
  }
}

class Capture {
  text = '';
  readonly isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

for (const target of ['memory', 'cluster'] as Target[]) {
  describe(`samples on ${target === 'memory' ? 'createClient({ local: {} })' : 'a local cluster'}`, () => {
    for (const file of DOC_FILES) {
      const blocks = (blocksOf.get(file) ?? []).filter((b) => isRunnable(b) && runsOn(b, target) && (b.lang === 'ts' || b.lang === 'sh'));
      if (blocks.length === 0) continue;
      describe(file, () => {
        const tsBlocks = blocks.filter((b) => b.lang === 'ts');
        let gen: AsyncGenerator<number, void, void> | undefined;
        let failed: string | undefined;
        const clients: sdk.Client[] = [];
        let memory: sdk.Client | undefined;
        let cwd = '';
        let last: { value: unknown } | undefined;

        beforeAll(async () => {
          cwd = tmp('datalith-sample-');
          // Files the shell samples use.
          for (const b of blocksOf.get(file) ?? []) {
            const name = b.attrs['file'];
            if (name !== undefined) fs.writeFileSync(path.join(cwd, name), `${b.code}\n`);
          }
          if (target === 'cluster' && cluster !== undefined) {
            // Each document starts from an empty system, as its reader would.
            const admin = sdk.createClient({ endpoint: cluster.endpoint, accessKey: cluster.accessKey });
            for (const name of await admin.listDatabases()) {
              namesOfEarlierDocs.add(name);
              await admin.deleteDatabase(name);
            }
            for (const key of await admin.listKeys()) await admin.revokeKey(key.id);
            await admin.close();
          }
          // Samples that build a client by hand read the endpoint from the environment.
          if (target === 'cluster' && cluster !== undefined) process.env['DATALITH_ENDPOINT'] = cluster.endpoint;
          else delete process.env['DATALITH_ENDPOINT'];
          if (tsBlocks.length === 0) return;
          const compiled = compileDoc(tsBlocks);
          const createClient = ((opts: sdk.ClientOptions) => {
            void opts; // replaced by the target's
            if (target === 'memory') {
              memory ??= sdk.createClient({ local: {} });
              return memory;
            }
            const c = sdk.createClient({ endpoint: (cluster as LocalCluster).endpoint, accessKey: (cluster as LocalCluster).accessKey });
            clients.push(c);
            return c;
          }) as typeof sdk.createClient;
          const asWritten = ((opts: sdk.ClientOptions) => {
            const c = sdk.createClient(opts);
            clients.push(c);
            return c;
          }) as typeof sdk.createClient;
          const env: SampleEnv = {
            importModule: (name) => {
              if (name === 'datalith') return { ...sdk, createClient };
              if (name.startsWith('node:')) return require(name) as unknown;
              throw new Error(`samples may import 'datalith' and node: modules, not ${name}`);
            },
            console: {
              log: (...args: unknown[]) => {
                last = { value: args.length === 1 ? args[0] : args };
              },
            },
            check: (id) => {
              const c = compiled.checks[id];
              if (c === undefined) throw new Error(`no check ${id}`);
              if (last === undefined) throw new Error(`${c.where}: // => with no console.log before it`);
              const actual = last.value;
              last = undefined;
              try {
                compare(actual, expectedValue(c, expect));
              } catch (e) {
                throw new Error(`${c.where}: the sample prints something else than the docs say\n${(e as Error).message}`);
              }
            },
            expect,
            createClientAsWritten: asWritten,
          };
          gen = compiled.start(env);
        });

        afterAll(async () => {
          await gen?.return();
          for (const c of clients) await c.close().catch(() => {});
          await memory?.close();
        });

        for (const b of blocks) {
          test(`${file}:${b.line} (${b.lang})`, async () => {
            if (failed !== undefined) throw new Error(`not run: the sample at ${failed} failed`);
            try {
              if (b.lang === 'ts') {
                const step = await (gen as AsyncGenerator<number, void, void>).next();
                expect(step.value).toBe(tsBlocks.indexOf(b));
              } else {
                await runShell(b, cwd);
              }
              if (target === 'cluster' && cluster !== undefined) {
                const admin = sdk.createClient({ endpoint: cluster.endpoint, accessKey: cluster.accessKey });
                const reused = (await admin.listDatabases()).filter((n) => namesOfEarlierDocs.has(n));
                await admin.close();
                if (reused.length > 0) throw new Error(`${file} uses database names an earlier document used: ${reused.join(', ')}; pick others`);
              }
            } catch (e) {
              failed = `${file}:${b.line}`;
              throw e;
            }
          });
        }
      });
    }
  });
}

async function runShell(b: Block, cwd: string): Promise<void> {
  const c = cluster as LocalCluster;
  for (const step of shellSteps(b)) {
    const stdout = new Capture();
    const stderr = new Capture();
    const stdinText = step.stdinText ?? (step.stdinFile !== undefined ? fs.readFileSync(path.join(cwd, step.stdinFile), 'utf8') : '');
    const io: CliIO = {
      stdout,
      stderr,
      stdin: { text: stdinText },
      env: { DATALITH_ENDPOINT: c.endpoint, DATALITH_ACCESS_KEY: c.accessKey },
      cwd,
    };
    const code = await run(step.argv, io);
    if (step.stdoutFile !== undefined) {
      fs.writeFileSync(path.join(cwd, step.stdoutFile), stdout.text);
      stdout.text = '';
    }
    const actual = `${stdout.text}${stderr.text}`.replace(/\n$/, '').split('\n').filter((l, i, a) => !(a.length === 1 && l === ''));
    const shouldFail = step.expected.some((l) => ANOMALY_LINE.test(l));
    const shown = `${step.where}: $ npx datalith ${step.argv.join(' ')}\n--- expected\n${step.expected.join('\n')}\n--- actual (exit ${code})\n${actual.join('\n')}`;
    if (!outputMatches(actual, step.expected)) throw new Error(`output differs\n${shown}`);
    if ((code !== 0) !== shouldFail) throw new Error(`exit code ${code}\n${shown}`);
  }
}
