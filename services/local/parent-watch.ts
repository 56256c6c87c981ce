/**
 * Orphan guard, preloaded into every child process of the local cluster
 * (`node --require tsx/cjs --require services/local/parent-watch.ts <entry>`).
 *
 * The parent passes one end of a pipe as file descriptor `DATALITH_PARENT_WATCH_FD`. The child
 * only reads it: when the parent dies for any reason (even SIGKILL), the kernel closes the
 * parent's end and the child reads end-of-file. The child then sends itself SIGTERM (so the
 * entry's graceful shutdown runs) and exits by force after `DATALITH_PARENT_WATCH_GRACE_MS`
 * (default 5000). As a fallback (no fd), it polls `process.ppid` once a second: a re-parented
 * process has lost its parent.
 *
 * The guard holds no reference on the event loop: it never keeps a child alive by itself.
 */
import * as net from 'node:net';

const FD_ENV = 'DATALITH_PARENT_WATCH_FD';
const GRACE_ENV = 'DATALITH_PARENT_WATCH_GRACE_MS';

function install(): void {
  const fdText = process.env[FD_ENV];
  const grace = Number(process.env[GRACE_ENV] ?? 5000);
  // Not inherited by this process's own children.
  delete process.env[FD_ENV];
  delete process.env[GRACE_ENV];

  // stdout is a pipe to the parent (the ready line): once the parent is gone, writing to it fails
  // with EPIPE, which must not crash the shutdown.
  const ignore = (): void => {};
  process.stdout.on('error', ignore);

  let gone = false;
  const parentGone = (why: string): void => {
    if (gone) return;
    gone = true;
    process.stderr.on('error', ignore);
    process.stderr.write(`${JSON.stringify({ event: 'parent-gone', pid: process.pid, why })}\n`);
    const force = setTimeout(() => process.exit(1), Number.isFinite(grace) && grace >= 0 ? grace : 5000);
    force.unref();
    try {
      process.kill(process.pid, 'SIGTERM');
    } catch {
      process.exit(1);
    }
  };

  const fd = fdText === undefined ? NaN : Number(fdText);
  if (Number.isInteger(fd) && fd > 2) {
    try {
      const sock = new net.Socket({ fd, readable: true, writable: false });
      sock.on('data', () => { /* the parent never writes; ignore */ });
      sock.once('end', () => parentGone('pipe closed'));
      sock.once('close', () => parentGone('pipe closed'));
      sock.once('error', () => parentGone('pipe error'));
      sock.unref();
    } catch {
      /* fall back to polling below */
    }
  }
  const ppid = process.ppid;
  const poll = setInterval(() => {
    if (process.ppid !== ppid) parentGone(`re-parented from ${ppid} to ${process.ppid}`);
  }, 1000);
  poll.unref();
}

install();
