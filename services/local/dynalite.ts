/**
 * The embedded DynamoDB-compatible server (dynalite on LevelDB), in process or as a child process.
 *
 * One data directory can be served by one dynalite at a time: a second LevelDB open of the same
 * directory crashes dynalite with an uncaught error. `acquireDirLock` guards it with a lock file
 * (`<dir>/datalith-dynalite.lock`, holding the owner's pid) and a clear `conflict` error.
 * A lock left by a process killed with SIGKILL is stale once that pid is gone, and is taken over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { DatalithError } from '../engine';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;

export const LOCK_FILE = 'datalith-dynalite.lock';

export interface DynaliteOptions {
  /** LevelDB directory; in memory when absent. */
  dir?: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}

export interface DynaliteHandle {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

const heldInProcess = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the data directory for this process. Throws `conflict` `storage/data-dir-locked` when
 * another live process (or another dynalite in this process) serves it. Returns the release function.
 */
export function acquireDirLock(dir: string): () => void {
  const abs = path.resolve(dir);
  if (heldInProcess.has(abs)) {
    throw new DatalithError('conflict', `data directory ${abs} is already served by a dynalite in this process`,
      'storage/data-dir-locked', { dir: abs, pid: process.pid });
  }
  fs.mkdirSync(abs, { recursive: true });
  const file = path.join(abs, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      heldInProcess.add(abs);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldInProcess.delete(abs);
        try {
          if (readLockPid(file) === process.pid) fs.unlinkSync(file);
        } catch { /* already gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readLockPid(file);
      // Stale: the owner is dead (e.g. kill -9), or it is this process but not held by it.
      if (owner === undefined || !pidAlive(owner) || owner === process.pid) {
        try { fs.unlinkSync(file); } catch { /* raced with another taker */ }
        continue;
      }
      throw new DatalithError('conflict',
        `data directory ${abs} is in use by process ${owner} (lock file ${file}); ` +
        'stop that process, or delete the lock file if it is not a Datalith storage server',
        'storage/data-dir-locked', { dir: abs, pid: owner });
    }
  }
  throw new DatalithError('conflict', `could not lock data directory ${abs} (lock file ${file} keeps reappearing)`,
    'storage/data-dir-locked', { dir: abs });
}

const DYNALITE_OPTS = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

/** Start dynalite in this process on 127.0.0.1. */
export async function startDynaliteInProcess(opts: DynaliteOptions = {}): Promise<DynaliteHandle> {
  const release = opts.dir !== undefined ? acquireDirLock(opts.dir) : () => {};
  let server: Server;
  try {
    server = dynalite({ ...DYNALITE_OPTS, ...(opts.dir !== undefined ? { path: path.resolve(opts.dir) } : {}) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    release();
    throw new DatalithError('unavailable', `could not start dynalite: ${(e as Error).message}`,
      'storage/start-failed', { dir: opts.dir, port: opts.port });
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        // Idle keep-alive sockets of our own clients must not hold the close up.
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => {
          release();
          resolve();
        });
      });
      return closing;
    },
  };
}

export interface DynaliteProcess {
  endpoint: string;
  port: number;
  pid: number;
  /** SIGKILL (crash simulation); resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: graceful close of the server and the LevelDB store; resolves when the process exited. */
  stop(): Promise<void>;
  /** Resolves when the process exits for any reason. */
  exited: Promise<number | null>;
}

/** How to run `dynalite-server` next to this file: compiled `.js` directly, `.ts` through tsx. */
function serverCommand(): { cmd: string; args: string[] } {
  const ts = path.join(__dirname, 'dynalite-server.ts');
  const js = path.join(__dirname, 'dynalite-server.js');
  if (__filename.endsWith('.js') && fs.existsSync(js)) return { cmd: process.execPath, args: [js] };
  return { cmd: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ts] };
}

/**
 * Start dynalite as a child process (so it can be killed with SIGKILL). Resolves once the server
 * printed its `{"endpoint": ...}` line; rejects with the child's stderr if it exits first.
 */
export async function spawnDynaliteProcess(
  opts: DynaliteOptions & {
    startTimeoutMs?: number;
    /** Stop the server when this process exits, even by kill -9 (default true; via a stdin pipe). */
    exitWithParent?: boolean;
  } = {},
): Promise<DynaliteProcess> {
  const { cmd, args } = serverCommand();
  if (opts.dir !== undefined) args.push('--dir', path.resolve(opts.dir));
  args.push('--port', String(opts.port ?? 0));
  const exitWithParent = opts.exitWithParent ?? true;
  if (exitWithParent) args.push('--exit-with-parent');
  const child: ChildProcess = spawn(cmd, args, { stdio: [exitWithParent ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (stderr.length < 16_384) stderr += s;
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DatalithError('unavailable', `dynalite process did not start within ${opts.startTimeoutMs ?? 30_000} ms: ${stderr}`,
        'storage/start-failed', { dir: opts.dir }));
    }, opts.startTimeoutMs ?? 30_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const msg = JSON.parse(line) as { endpoint?: unknown };
          if (typeof msg.endpoint === 'string') {
            clearTimeout(timer);
            resolve(msg.endpoint);
            return;
          }
        } catch { /* not our line */ }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      const locked = /storage\/data-dir-locked/.test(stderr);
      reject(new DatalithError(locked ? 'conflict' : 'unavailable',
        `dynalite process exited (code ${code}) before it was ready: ${stderr.trim()}`,
        locked ? 'storage/data-dir-locked' : 'storage/start-failed', { dir: opts.dir }));
    });
  });
  child.stdout?.resume(); // keep draining
  const pid = child.pid as number;
  const signal = (sig: NodeJS.Signals) => async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { endpoint, port: Number(new URL(endpoint).port), pid, kill: signal('SIGKILL'), stop: signal('SIGTERM'), exited };
}
