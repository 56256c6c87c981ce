import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CatalogStore, createDynamoClient, ensureTables, getDynamoClient, closeDynamoClients } from '../../../services/node/storage';
import { LogStore, type LogEntry } from '../../../services/node/log';
import { LOCK_FILE, spawnDynaliteProcess, startDynaliteInProcess } from '../../../services/local/dynalite';
import { bytes, caught, defineStorageSuite, digest, entry, uniqueNames } from './storage-suite';

const tmpDirs: string[] = [];
const tmpDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'datalith-storage-'));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

defineStorageSuite('dynalite in memory', () => startDynaliteInProcess());

defineStorageSuite('dynalite on disk', () => startDynaliteInProcess({ dir: tmpDir() }));

describe('dynalite process lifecycle', () => {
  test('in-process: data on disk survives a close and restart; a second server on the same dir is refused', async () => {
    const dir = tmpDir();
    const names = uniqueNames('reopen');
    const s1 = await startDynaliteInProcess({ dir });
    const second = await caught(startDynaliteInProcess({ dir }));
    expect(second.category).toBe('conflict');
    expect(second.code).toBe('storage/data-dir-locked');
    const c1 = createDynamoClient({ endpoint: s1.endpoint });
    await ensureTables(c1, names);
    const e = entry('db1', 1, 3);
    await new LogStore(c1, names).appendEntry(e);
    c1.destroy();
    await s1.close();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);

    const s2 = await startDynaliteInProcess({ dir });
    const c2 = createDynamoClient({ endpoint: s2.endpoint });
    expect(digest(await new LogStore(c2, names).readEntries('db1', 0))).toEqual(digest([e]));
    c2.destroy();
    await s2.close();
  });

  test('spawned process: kill -9 loses no written entry; restart on the same dir and port; lock guard', async () => {
    const dir = tmpDir();
    const names = uniqueNames('kill9');
    const p1 = await spawnDynaliteProcess({ dir });
    expect(p1.pid).toBeGreaterThan(0);

    // A second server process on the same directory is refused with a clear error.
    const dup = await caught(spawnDynaliteProcess({ dir }));
    expect(dup.category).toBe('conflict');
    expect(dup.message).toMatch(/in use by process/);

    const client = getDynamoClient({ endpoint: p1.endpoint }); // the shared, pooled client
    await ensureTables(client, names);
    const log = new LogStore(client, names);
    const catalog = new CatalogStore(client, names);
    const db = (await catalog.createDatabase('survivor')).id;
    const written: LogEntry[] = [];
    for (let t = 1; t <= 20; t++) {
      const e = t === 7
        ? { db, t, last: t, txs: [{ t, txId: 'big', payload: bytes(900_000) }] }
        : entry(db, t);
      await log.appendEntry(e); // acknowledged
      written.push(e);
    }

    await p1.kill(); // SIGKILL: no graceful close of LevelDB
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true); // stale lock left behind

    // Storage down: writes and reads fail as `unavailable`, never as a conflict.
    const down = await caught(log.appendEntry(entry(db, 21)));
    expect(down.category).toBe('unavailable');
    expect((await caught(log.latestT(db))).category).toBe('unavailable');

    // Restart on the same directory and port: the same pooled client reconnects.
    const p2 = await spawnDynaliteProcess({ dir, port: p1.port });
    expect(p2.endpoint).toBe(p1.endpoint);
    expect(await log.latestT(db)).toBe(20);
    expect(digest(await log.readEntries(db, 0))).toEqual(digest(written));
    expect(await catalog.getDatabase('survivor')).toMatchObject({ id: db });
    await log.appendEntry(entry(db, 21));
    expect((await caught(log.appendEntry(entry(db, 21)))).code).toBe('log/append-conflict');
    expect(await log.latestT(db)).toBe(21);

    await p2.stop(); // graceful: releases the lock
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    closeDynamoClients();
  });

  test('a spawned server stops when its parent is killed with SIGKILL', async () => {
    const dir = tmpDir();
    const script = path.join(dir, 'parent.ts');
    const storage = path.resolve(__dirname, '../../../services/local/dynalite');
    fs.writeFileSync(script,
      `import { spawnDynaliteProcess } from ${JSON.stringify(storage)};\n` +
      `spawnDynaliteProcess({ dir: ${JSON.stringify(path.join(dir, 'data'))} })` +
      '.then((p) => console.log(JSON.stringify({ child: p.pid })));\n');
    const parent = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (d: Buffer) => {
        out += String(d);
        const m = /"child":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', () => reject(new Error(`parent exited early: ${out}`)));
    });
    const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(childPid)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'data', LOCK_FILE))).toBe(false); // it stopped gracefully
  });
});
