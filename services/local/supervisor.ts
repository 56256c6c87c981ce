/**
 * The local supervisor — what the Auto Scaling Group does in AWS: keeps N node processes
 * running, and replaces one that
 *   - exits (crash, kill -9, out of memory): at once;
 *   - fails the load balancer's health checks for `replaceAfterMs` (2 s) in a row — a hung or
 *     stopped process (SIGSTOP), a node reporting itself unhealthy: kill -9, then replace;
 *   - never becomes healthy within `startGraceMs` (30 s) of being ready.
 * A replacement keeps the node id and, when it is free, the port (then the load balancer entry is
 * simply re-registered); if the port is taken, the node gets a new free port and registers there.
 * A node that keeps dying young is restarted with exponential backoff (250 ms … 10 s).
 *
 * The supervisor uses the load balancer's view of health (like an ASG with ELB health checks), so
 * there is one set of health checks.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { ChildHandle } from './process';
import type { BackendStatus } from './load-balancer';

/** The part of the load balancer the supervisor drives. */
export interface SupervisedTargets {
  updateBackend(id: string, url: string): void;
  drainBackend(id: string): void;
  removeBackend(id: string): void;
  backend(id: string): BackendStatus | undefined;
}

export interface NodeProcessInfo {
  /** The port the node reported when ready. */
  port: number;
}

export interface SupervisorOptions {
  targets: SupervisedTargets;
  /** Start one node process; resolves once it is ready (listening). */
  spawnNode: (spec: { id: string; port: number; generation: number }) => Promise<ChildHandle<NodeProcessInfo>>;
  host?: string;
  replaceAfterMs?: number;
  startGraceMs?: number;
  checkIntervalMs?: number;
  /** Grace between SIGTERM and SIGKILL at `stop()`. */
  stopGraceMs?: number;
  log?: (event: Record<string, unknown>) => void;
  /** Epoch ms, compared with the load balancer's `failingSince` (default `Date.now`; tests set it). */
  now?: () => number;
}

export type ManagedState = 'starting' | 'running' | 'replacing' | 'stopped';

export interface ManagedNodeStatus {
  index: number;
  id: string;
  port: number;
  url: string;
  pid: number | undefined;
  state: ManagedState;
  healthy: boolean;
  /** How many times this node was replaced. */
  restarts: number;
  /** Every pid this node has had (oldest first). */
  pids: number[];
}

export interface ReplacedEvent {
  id: string;
  index: number;
  oldPid: number | undefined;
  newPid: number;
  port: number;
  reason: string;
}

interface Managed {
  index: number;
  id: string;
  port: number;
  proc: ChildHandle<NodeProcessInfo> | undefined;
  state: ManagedState;
  restarts: number;
  pids: number[];
  readyAt: number;
  /** Consecutive early deaths, for backoff. */
  crashes: number;
  /** Set while a replacement is running. */
  replacing: Promise<void> | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on `host` (released before return; a race with other takers is possible). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether `port` on `host` can be listened on right now. */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export class Supervisor extends EventEmitter {
  private readonly managed: Managed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private paused = false;
  private wake: () => void = () => {};
  private readonly stopped = new Promise<void>((r) => { this.wake = r; });
  private readonly host: string;
  private readonly replaceAfterMs: number;
  private readonly startGraceMs: number;
  private readonly log: (event: Record<string, unknown>) => void;
  private readonly now: () => number;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.replaceAfterMs = opts.replaceAfterMs ?? 2_000;
    this.startGraceMs = opts.startGraceMs ?? 30_000;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  /**
   * Start nodes `ids` (in parallel, each on a free port or the given one) and begin supervising.
   * Rejects (after stopping what started) if any node fails to start.
   */
  async start(nodes: Array<{ id: string; port?: number }>): Promise<void> {
    const started = await Promise.allSettled(nodes.map(async (n, index) => {
      const port = n.port ?? await freePort(this.host);
      const m: Managed = { index, id: n.id, port, proc: undefined, state: 'starting', restarts: 0, pids: [], readyAt: 0, crashes: 0, replacing: undefined };
      this.managed[index] = m;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.launch(m);
          return;
        } catch (e) {
          // A free port can be taken between choosing it and the node binding it: retry on another.
          if (attempt >= 2 || n.port !== undefined || this.stopping) throw e;
          m.port = await freePort(this.host);
        }
      }
    }));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.stop();
      throw failed.reason;
    }
    this.timer = setInterval(() => this.monitor(), this.opts.checkIntervalMs ?? 250);
    this.timer.unref();
  }

  status(): ManagedNodeStatus[] {
    return this.managed.map((m) => ({
      index: m.index,
      id: m.id,
      port: m.port,
      url: this.urlOf(m),
      pid: m.proc?.alive === true ? m.proc.pid : undefined,
      state: m.state,
      healthy: this.opts.targets.backend(m.id)?.healthy === true,
      restarts: m.restarts,
      pids: [...m.pids],
    }));
  }

  /** Stop replacing failed nodes (a dead node stays dead) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  /** Replace failed nodes again (and at once any that failed meanwhile). */
  resume(): void {
    this.paused = false;
    for (const m of this.managed) {
      if (m?.state === 'running' && m.proc?.alive === false) void this.replaceManaged(m, 'exited while the supervisor was paused');
    }
  }

  /** Send `signal` to node `index`'s current process (fault injection). */
  signalNode(index: number, signal: NodeJS.Signals): number | undefined {
    const m = this.managed[index];
    if (m?.proc === undefined) return undefined;
    m.proc.signal(signal);
    return m.proc.pid;
  }

  /** Replace node `index` now (kill -9 and start again), as if it had failed. */
  async replace(index: number, reason = 'requested'): Promise<void> {
    const m = this.managed[index];
    if (m === undefined) throw new Error(`no node ${index}`);
    await this.replaceManaged(m, reason);
  }

  /** Resolves when node `index` runs a process other than `oldPid` and is healthy. */
  async waitReplaced(index: number, oldPid: number, timeoutMs = 20_000): Promise<ManagedNodeStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.status()[index];
      if (s !== undefined && s.pid !== undefined && s.pid !== oldPid && s.state === 'running' && s.healthy) return s;
      if (Date.now() > deadline) throw new Error(`node ${index} was not replaced within ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await sleep(25);
    }
  }

  /** Stop supervising and stop every node: deregister, SIGTERM, SIGKILL after the grace. */
  async stop(graceMs = this.opts.stopGraceMs ?? 5_000): Promise<void> {
    this.stopping = true;
    this.wake();
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.allSettled(this.managed.map((m) => m?.replacing));
    await Promise.allSettled(this.managed.map(async (m) => {
      if (m === undefined) return;
      m.state = 'stopped';
      this.opts.targets.drainBackend(m.id);
      await m.proc?.stop(graceMs);
      this.opts.targets.removeBackend(m.id);
    }));
  }

  // ---- internals ----

  private urlOf(m: Managed): string {
    return `http://${this.host}:${m.port}`;
  }

  private async launch(m: Managed): Promise<void> {
    const generation = m.pids.length;
    const proc = await this.opts.spawnNode({ id: m.id, port: m.port, generation });
    if (this.stopping) {
      await proc.kill();
      throw new Error('supervisor stopping');
    }
    m.port = proc.info.port;
    m.proc = proc;
    m.pids.push(proc.pid);
    m.readyAt = this.now();
    m.state = 'running';
    this.opts.targets.updateBackend(m.id, this.urlOf(m));
    this.log({ event: 'node-started', id: m.id, pid: proc.pid, port: m.port, generation });
    void proc.exited.then(({ code, signal }) => {
      if (this.stopping || this.paused || m.proc !== proc || m.state !== 'running') return;
      void this.replaceManaged(m, `exited (${signal ?? `code ${code}`})`);
    });
  }

  private monitor(): void {
    if (this.stopping || this.paused) return;
    const now = this.now();
    for (const m of this.managed) {
      if (m === undefined || m.state !== 'running') continue;
      const b = this.opts.targets.backend(m.id);
      if (b === undefined) continue;
      if (b.failingSince !== undefined && now - b.failingSince >= this.replaceAfterMs && (b.state === 'unhealthy')) {
        void this.replaceManaged(m, `failed health checks for ${now - b.failingSince} ms (${b.lastError ?? 'unknown'})`);
      } else if (b.state === 'initial' && now - m.readyAt >= this.startGraceMs) {
        void this.replaceManaged(m, `not healthy ${this.startGraceMs} ms after start`);
      }
    }
  }

  private replaceManaged(m: Managed, reason: string): Promise<void> {
    if (m.replacing !== undefined) return m.replacing;
    if (this.stopping) return Promise.resolve();
    m.state = 'replacing';
    m.replacing = (async () => {
      const old = m.proc;
      const oldPid = old?.pid;
      // Young deaths in a row back off; a node that ran a while restarts at once.
      m.crashes = this.now() - m.readyAt < 10_000 ? m.crashes + 1 : 0;
      this.log({ event: 'node-failed', id: m.id, pid: oldPid, reason });
      this.opts.targets.drainBackend(m.id);
      await old?.kill();
      let delay = m.crashes > 1 ? Math.min(10_000, 250 * 2 ** (m.crashes - 2)) : 0;
      while (!this.stopping) {
        if (delay > 0) await Promise.race([sleep(delay), this.stopped]);
        if (this.stopping) break;
        try {
          if (!(await portFree(m.port, this.host))) m.port = await freePort(this.host);
          await this.launch(m);
          m.restarts++;
          const ev: ReplacedEvent = { id: m.id, index: m.index, oldPid, newPid: m.proc?.pid as number, port: m.port, reason };
          this.log({ event: 'node-replaced', ...ev });
          this.emit('replaced', ev);
          break;
        } catch (e) {
          this.log({ event: 'node-start-failed', id: m.id, message: (e as Error).message.slice(0, 2000) });
          delay = Math.min(10_000, Math.max(250, delay * 2));
        }
      }
      if (this.stopping && m.state !== 'running') m.state = 'stopped';
    })().finally(() => {
      m.replacing = undefined;
    });
    return m.replacing;
  }
}
