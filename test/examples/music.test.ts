/**
 * The worked example end to end against a local cluster (2 nodes, the embedded storage, the load
 * balancer; random port, temporary data directory): every answer of examples/music/queries.ts,
 * the hand-written part by value and the generated part against a plain-JS computation over the
 * generator's data; `npx tsx examples/music/run.ts --endpoint …` as a user runs it; the
 * generator's EDN loaded with the CLI; and examples/hello.ts, the README's ten lines.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createClient, type Client } from '../../services';
import { run, type CliIO } from '../../services/cli/main';
import { startLocalCluster, type LocalCluster } from '../../services/local/local-cluster';
import { catalogEdn, generateCatalog, type Catalog, type Release } from '../../examples/music/generate';
import { runExample, type ExampleResult } from '../../examples/music/run';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const exec = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let cluster: LocalCluster;
let client: Client;
let dataDir: string;
let result: ExampleResult;
const catalog: Catalog & { withdrawn: Release } = generateCatalog();

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-music-'));
  cluster = await startLocalCluster({ port: 0, dataDir, childLogs: 'none', stopGraceMs: 2_000 });
  client = createClient({ endpoint: cluster.endpoint, accessKey: cluster.accessKey });
  result = await runExample(client);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const answer = (id: string): any => result.answers[id];
const sorted = <T>(xs: T[]): T[] => [...xs].sort();
const tracks = catalog.releases.flatMap((r) => r.tracks.map((t) => ({ ...t, release: r })));

describe('the music example on a local cluster', () => {
  test('the timeline: eight transactions', () => {
    expect(result.t).toBe(8);
  });

  test('1. join: Ada Lark\'s releases', () => {
    expect(sorted(answer('releases-by-artist'))).toEqual([[1968, 'Low Tide'], [1972, 'Lanterns']]);
  });

  test('2. join and not: guest appearances', () => {
    expect(answer('guest-appearances')).toEqual([['Paper Boats', 'Vale', 'Juno Vale']]);
  });

  test('3. aggregate: releases per genre', () => {
    const expected = new Map<string, number>();
    for (const r of catalog.releases) for (const g of r.genres) expected.set(g, (expected.get(g) ?? 0) + 1);
    expect(new Map(answer('releases-per-genre') as Array<[string, number]>)).toEqual(expected);
  });

  test('4. aggregates with :with: track count, total, min, max', () => {
    const d = tracks.map((t) => t.duration);
    expect(answer('catalog-totals')).toEqual([[d.length, d.reduce((a, b) => a + b, 0), Math.min(...d), Math.max(...d)]]);
  });

  test('5. functions and aggregates: average per decade', () => {
    const by = new Map<number, number[]>();
    for (const t of tracks) {
      const decade = Math.floor(t.release.year / 10) * 10;
      by.set(decade, [...(by.get(decade) ?? []), t.duration]);
    }
    const got = new Map(answer('average-by-decade') as Array<[number, number]>);
    expect([...got.keys()].sort()).toEqual([...by.keys()].sort());
    for (const [decade, ds] of by) expect(got.get(decade)).toBeCloseTo(ds.reduce((a, b) => a + b, 0) / ds.length, 9);
  });

  test('6. (max 3 ?d): the three longest distinct durations', () => {
    const distinct = [...new Set(tracks.map((t) => t.duration))].sort((a, b) => b - a);
    expect(answer('longest-tracks')).toEqual(distinct.slice(0, 3));
  });

  test('7. recursive rule', () => {
    expect(sorted(answer('influenced-by'))).toEqual(['Ada Lark', 'Juno Vale', 'Otis Brandt', 'The Quiet Harbors']);
  });

  test('8. rules and or', () => {
    expect(sorted(answer('played-with'))).toEqual(['Juno Vale', 'Mara Quell']);
  });

  test('9. not: artists without a release', () => {
    const withRelease = new Set(catalog.releases.flatMap((r) => r.artists));
    const expected = catalog.artists.map((a) => a.name).filter((n) => !withRelease.has(n));
    expect(expected).toContain('Otis Brandt');
    expect(sorted(answer('without-releases'))).toEqual(sorted(expected));
  });

  test('10. pull: a release tree, the typo fixed', () => {
    expect(answer('release-tree')).toEqual({
      'release/title': 'Low Tide',
      'release/year': 1968,
      'release/artists': [{ 'artist/name': 'Ada Lark' }],
      'release/tracks': expect.arrayContaining([
        { 'track/position': 1, 'track/title': 'Low Tide', 'track/duration': 198 },
        { 'track/position': 2, 'track/title': 'Saltwater', 'track/duration': 223 },
        { 'track/position': 3, 'track/title': 'Gull Song', 'track/duration': 176 },
        { 'track/position': 4, 'track/title': 'Undertow', 'track/duration': 264 },
      ]),
    });
    expect(answer('release-tree')['release/tracks']).toHaveLength(4);
  });

  test('11. pull in :find', () => {
    expect(answer('pull-in-find')).toEqual(expect.arrayContaining([
      { 'release/id': 'JV-2015', 'release/title': 'Vale', 'release/year': 2015 },
      { 'release/id': 'JV-2023', 'release/title': 'Second Light', 'release/year': 2023 },
    ]));
    expect(answer('pull-in-find')).toHaveLength(2);
  });

  test('12. asOf: releases at the end of 2019, 2020, 2021, and now', () => {
    const imported = [...catalog.releases, catalog.withdrawn].filter((r) => r.id !== 'JV-2023');
    expect(answer('as-of')).toEqual([
      imported.filter((r) => r.year < 1970).length,
      imported.filter((r) => r.year < 2000).length,
      imported.length,
      catalog.releases.length,
    ]);
  });

  test('13. since: the correction and the new release', () => {
    expect(sorted(answer('since'))).toEqual(sorted([
      ['country', ':country/IE'],
      ['new release', 'Second Light'],
      ['track title', 'Saltwater'],
      ['track title', 'Second Light'],
      ['track title', 'Signal'],
    ]));
  });

  test('14. history: Ada Lark\'s country', () => {
    const fix = 'correction: Ada Lark is from Ireland; a typo';
    expect(sorted(answer('country-history'))).toEqual(sorted([
      [':country/GB', true, new Date('2019-01-02T00:00:00Z'), 'genres and artists'],
      [':country/GB', false, new Date('2021-06-01T00:00:00Z'), fix],
      [':country/IE', true, new Date('2021-06-01T00:00:00Z'), fix],
    ]));
  });

  test('15. history: the withdrawn release', () => {
    expect(answer('withdrawn')).toEqual([['Bootleg Sessions', new Date('2022-01-10T00:00:00Z')]]);
  });

  test('16. with: a speculative release, nothing committed', () => {
    const withRelease = new Set(catalog.releases.flatMap((r) => r.artists));
    const without = catalog.artists.filter((a) => !withRelease.has(a.name)).length;
    expect(answer('what-if')).toEqual({ before: true, after: false, withoutReleases: without - 1, committed: null });
  });

  test('the in-process client gives the same answers', async () => {
    const local = createClient({ local: {} });
    try {
      const inProcess = await runExample(local);
      expect(inProcess.answers).toEqual(result.answers);
    } finally {
      await local.close();
    }
  });
});

describe('as a user runs it', () => {
  test('npx tsx examples/music/run.ts --endpoint …', async () => {
    const { stdout } = await exec(TSX, [path.join(ROOT, 'examples/music/run.ts'), '--endpoint', cluster.endpoint, '--db', 'music-cli'], {
      cwd: ROOT,
      env: { ...process.env, DATALITH_ACCESS_KEY: cluster.accessKey },
      timeout: 30_000,
    });
    expect(stdout).toContain('t 8  2023-05-01  new release: Second Light');
    expect(stdout).toContain('16. with:');
    expect(stdout).toMatch(/Paper Boats\s+Vale\s+Juno Vale/);
  }, 40_000);

  test('a second run on the same database is refused with a clear message', async () => {
    const e = await exec(TSX, [path.join(ROOT, 'examples/music/run.ts'), '--endpoint', cluster.endpoint, '--db', 'music-cli'], {
      cwd: ROOT, env: { ...process.env, DATALITH_ACCESS_KEY: cluster.accessKey }, timeout: 30_000,
    }).catch((x: { code: number; stderr: string }) => x);
    expect((e as { code: number }).code).toBe(1);
    expect((e as { stderr: string }).stderr).toMatch(/^conflict: database music-cli already exists/);
  }, 40_000);

  test('the generator\'s EDN through the CLI: the same catalog', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'music-cli-'));
    fs.writeFileSync(path.join(cwd, 'music.edn'), catalogEdn());
    const cli = async (...argv: string[]): Promise<string> => {
      let out = '';
      let err = '';
      const io: CliIO = {
        stdout: { write: (s: string) => { out += s; return true; } },
        stderr: { write: (s: string) => { err += s; return true; } },
        stdin: { text: '' },
        env: { DATALITH_ENDPOINT: cluster.endpoint, DATALITH_ACCESS_KEY: cluster.accessKey },
        cwd,
      };
      const code = await run(argv, io);
      expect({ code, err }).toEqual({ code: 0, err: '' });
      return out.trim();
    };
    try {
      await cli('databases', 'create', 'music-edn');
      const report = /^transacted \d+ operations in 8 transactions \(t 1\.\.8\): (\d+) datoms$/.exec(await cli('transact', 'music-edn', 'music.edn'));
      expect(report).not.toBeNull();
      // Every datom of the SDK's import, but for the system's own (those of an empty database).
      const empty = createClient({ local: {} });
      await empty.createDatabase('empty');
      const systemDatoms = (await (await (await empty.connect('empty')).db()).stats()).datoms;
      await empty.close();
      const viaSdk = (await (await (await client.connect('music-example')).db()).stats()).datoms;
      expect(Number(report?.[1])).toBe(viaSdk - systemDatoms);
      expect(await cli('q', 'music-edn', '[:find (count ?r) . :where [?r :release/id]]')).toBe(String(catalog.releases.length));
      expect(await cli('q', 'music-edn', '[:find (count ?r) . :where [?r :release/id]]', '--as-of', '2019-12-31')).toBe(String(answer('as-of')[0]));
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('examples/hello.ts is the README\'s sample, and runs', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const sample = /```ts runnable\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const hello = fs.readFileSync(path.join(ROOT, 'examples/hello.ts'), 'utf8');
    const body = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('import ') && !l.startsWith('const client = createClient('));
    for (const line of body(sample)) expect(hello.split('\n').map((l) => l.trim())).toContain(line);
    const { stdout } = await exec(TSX, [path.join(ROOT, 'examples/hello.ts')], {
      cwd: ROOT,
      env: { ...process.env, DATALITH_ENDPOINT: cluster.endpoint, DATALITH_ACCESS_KEY: cluster.accessKey },
      timeout: 30_000,
    });
    expect(stdout).toBe("[ [ 'Nina Simone' ] ]\nnull\n");
  }, 40_000);
});
