/**
 * Child processes of the local cluster: a TypeScript entry run by Node through tsx (or the
 * compiled `.js` when running from `dist/`), with
 *   - the orphan guard preloaded (`parent-watch.ts`, reading a pipe on fd 3): a child exits
 *     when its parent dies, even by SIGKILL;
 *   - its own process group (`detached`), so a terminal's Ctrl-C reaches only the parent, which
 *     then stops the children gracefully and in order;
 *   - readiness = a JSON line on stdout accepted by `ready(msg)`;
 *   - stdout/stderr appended to a log file (or dropped), with the last lines kept for errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import { DatalithError } from '../engine';

export interface SpawnOptions<R> {
  /** For messages. */
  name: string;
  /** Path of the entry, with `.ts` extension (the `.js` twin is used when running compiled). */
  entry: string;
  args?: string[];
  /** Added to (not replacing) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Accepts a JSON line printed on stdout; the first non-undefined result resolves the start. */
  ready: (msg: Record<string, unknown>) => R | undefined;
  readyTimeoutMs?: number;
  /** Append stdout and stderr here; absent: dropped (the tail is kept in memory). */
  logFile?: string;
  /** Grace the orphan guard gives the child's own shutdown when the parent dies. */
  orphanGraceMs?: number;
  cwd?: string;
}

export interface ChildHandle<R> {
  name: string;
  pid: number;
  /** What `ready` returned. */
  info: R;
  /** Resolves when the process exited (code, or signal name). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  /** Send a signal (no-op when already gone). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5000); resolves when gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves when gone. */
  kill(): Promise<void>;
  /** Last lines of output, for diagnostics. */
  tail(): string;
}

const TAIL_BYTES = 8192;

/** Node arguments that run `entry` (a `.ts` path) with the orphan guard preloaded. */
export function nodeArgsFor(entry: string): string[] {
  const js = entry.replace(/\.ts$/, '.js');
  const guardTs = path.join(__dirname, 'parent-watch.ts');
  const guardJs = path.join(__dirname, 'parent-watch.js');
  if (__filename.endsWith('.js') && fs.existsSync(js) && fs.existsSync(guardJs)) {
    return ['--require', guardJs, js];
  }
  return ['--require', require.resolve('tsx/cjs'), '--require', guardTs, entry];
}

export async function spawnChild<R>(opts: SpawnOptions<R>): Promise<ChildHandle<R>> {
  // stderr goes straight to the log file (so the child's logging does not depend on this process
  // staying alive); stdout comes through us for the ready line and is appended to the same file.
  const log = opts.logFile !== undefined ? openLog(opts.logFile) : undefined;
  const errFd = opts.logFile !== undefined ? fs.openSync(opts.logFile, 'a') : undefined;
  const child: ChildProcess = spawn(process.execPath, [...nodeArgsFor(opts.entry), ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: {
      ...process.env,
      ...opts.env,
      DATALITH_PARENT_WATCH_FD: '3',
      DATALITH_PARENT_WATCH_GRACE_MS: String(opts.orphanGraceMs ?? 5000),
    },
    stdio: ['ignore', 'pipe', errFd ?? 'pipe', 'pipe'],
    detached: true,
  });
  if (errFd !== undefined) fs.closeSync(errFd);
  // Our end of the watch pipe: never written, kept open for the child's lifetime.
  (child.stdio[3] as Socket | null)?.unref?.();

  let tail = '';
  const keep = (s: string): void => {
    tail = (tail + s).slice(-TAIL_BYTES);
    log?.write(s);
  };
  const fullTail = (): string => (opts.logFile !== undefined ? fileTail(opts.logFile) : tail);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (e) => {
      keep(`spawn error: ${e.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    // Let the output streams flush into the log, then close it.
    setTimeout(() => log?.end(), 50).unref();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', keep);
  child.stdout?.setEncoding('utf8');

  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let buf = '';
  const info = await new Promise<R>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => finish(() => {
      child.kill('SIGKILL');
      reject(new DatalithError('unavailable', `${opts.name} did not become ready within ${timeoutMs} ms; output:\n${fullTail()}`,
        'local/start-failed', { name: opts.name }));
    }), timeoutMs);
    child.stdout?.on('data', (s: string) => {
      keep(s);
      if (done) return;
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg === null || typeof msg !== 'object') continue;
        const r = opts.ready(msg as Record<string, unknown>);
        if (r !== undefined) {
          buf = '';
          finish(() => resolve(r));
          return;
        }
      }
    });
    void exited.then(({ code, signal }) => finish(() => reject(new DatalithError('unavailable',
      `${opts.name} exited (${signal ?? `code ${code}`}) before it was ready; output:\n${fullTail()}`,
      'local/start-failed', { name: opts.name, code, signal }))));
  });

  const signal = (sig: NodeJS.Signals): void => {
    if (gone) return;
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  };
  const kill = async (): Promise<void> => {
    signal('SIGKILL');
    await exited;
  };
  const stop = async (graceMs = 5000): Promise<void> => {
    if (gone) return;
    signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) await kill();
  };
  return {
    name: opts.name,
    pid: child.pid as number,
    info,
    exited,
    get alive() { return !gone; },
    signal,
    stop,
    kill,
    tail: fullTail,
  };
}

function fileTail(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function openLog(file: string): fs.WriteStream {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const s = fs.createWriteStream(file, { flags: 'a' });
  s.on('error', () => { /* logging must never take the cluster down */ });
  return s;
}

/** Whether a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
