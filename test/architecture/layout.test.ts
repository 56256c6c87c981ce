/**
 * The layout shows the architecture (DESIGN.md, "Layout"; ADR 013): the engine imports nothing
 * else, everyone else uses it through its front door, the SDK imports only the engine, the node
 * no SDK and no launcher — checked on the import statements, and at run time on what loading the
 * SDK for a remote endpoint really loads.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SERVICES = path.join(ROOT, 'services');

/** Which units each unit may import (its own included). */
const ALLOWED: Record<string, readonly string[]> = {
  engine: ['engine'],
  client: ['client', 'engine'],
  node: ['node', 'engine'],
  local: ['local', 'node', 'client', 'engine'],
  cli: ['cli', 'root', 'client', 'local', 'engine'],
  root: ['root', 'client', 'local'],
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function unitOf(file: string): string {
  const rel = path.relative(SERVICES, file);
  return rel.includes(path.sep) ? rel.split(path.sep)[0]! : 'root';
}

/** Relative imports and requires of a file, resolved to paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|require\(|import\()\s*'(\.[^']*)'/g)].map((m) => m[1]!);
  return specs.map((s) => {
    const target = path.resolve(path.dirname(file), s);
    // A folder import is its index.ts.
    return fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'index.ts') : target;
  });
}

const files = sources(SERVICES);

test('each unit imports only the units it may', () => {
  const wrong: string[] = [];
  for (const f of files) {
    const from = unitOf(f);
    for (const target of importsOf(f)) {
      if (!target.startsWith(SERVICES)) continue;
      const to = unitOf(target);
      if (!ALLOWED[from]!.includes(to)) wrong.push(`${path.relative(ROOT, f)} → ${path.relative(ROOT, target)}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('outside the engine, the engine is imported only through services/engine/index.ts', () => {
  const wrong: string[] = [];
  for (const f of files) {
    if (unitOf(f) === 'engine') continue;
    for (const target of importsOf(f)) {
      const rel = path.relative(path.join(SERVICES, 'engine'), target);
      if (!rel.startsWith('..') && rel !== 'index.ts' && rel !== 'index') wrong.push(`${path.relative(ROOT, f)} → ${path.relative(ROOT, target)}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('loading the SDK (and the package root) for a remote endpoint loads no server code and no dynalite', () => {
  const script = `
    const { createClient } = require(${JSON.stringify(path.join(SERVICES, 'index.ts'))});
    createClient({ endpoint: 'http://127.0.0.1:9', accessKey: 'k' });
    const loaded = Object.keys(require.cache);
    process.stdout.write(JSON.stringify(loaded.filter((f) => /services[\\\\/](node|local)[\\\\/]|node_modules[\\\\/](dynalite|@aws-sdk|express)[\\\\/]/.test(f))));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual([]);
});

test('the durable local mode is still there from the package root, loaded when asked for', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'datalith-root-'));
  const script = `
    const { createClient } = require(${JSON.stringify(path.join(SERVICES, 'index.ts'))});
    (async () => {
      const c = createClient({ local: { dir: ${JSON.stringify(dir)} } });
      await c.createDatabase('d');
      process.stdout.write(JSON.stringify({ dbs: await c.listDatabases(), local: Object.keys(require.cache).some((f) => /services[\\\\/]local[\\\\/]embedded/.test(f)) }));
      await c.close();
    })();
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({ dbs: ['d'], local: true });
  fs.rmSync(dir, { recursive: true, force: true });
});
