/**
 * The query worker pool's side of cancellation (docs/adr/007-query-workers.md): a job whose
 * signal aborts leaves the queue, or has its worker stopped after the grace period and replaced.
 * Jobs here query plain values only, so the workers need no storage.
 */
import pino from 'pino';
import { toWire } from '../../services/engine/wire';
import type { QueryJob } from '../../services/node/reads/query-job';
import { QueryWorkerPool } from '../../services/node/reads/query-workers';
import { caught } from '../client/contract';

const LIMITS = { maxResultRows: 1_000, maxResponseBytes: 1_000_000 };

function job(query: string, input: unknown, timeout = 60_000): QueryJob {
  return { query, inputs: [{ value: toWire(input) }], timeout, ...LIMITS };
}

/** Catastrophic backtracking: not interruptible by the engine's timeout checks. */
const endless = (): QueryJob => job('[:find ?m . :in ?s :where [(re-pattern "(x+x+)+y") ?p] [(re-find ?p ?s) ?m]]', 'x'.repeat(40));
const quick = (n: number): QueryJob => job('[:find ?y . :in ?x :where [(inc ?x) ?y]]', n);

async function until(check: () => boolean): Promise<void> {
  // A generous bound, only so that a failure does not hang the suite.
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

describe('query worker pool: abandoned jobs', () => {
  let pool: QueryWorkerPool;
  /** The pool's log lines: a worker stopped for an abandoned job says so. */
  const logged: string[] = [];
  const stopped = (): number => logged.filter((l) => l.includes('its client went away')).length;

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
    pool = new QueryWorkerPool({ size: 1, storage: {}, graceMs: 200, logger });
    expect(await pool.run(quick(1))).toBe('{"result":2}');
  });
  afterAll(async () => {
    await pool.close();
  });

  test('an already aborted job is refused without running', async () => {
    const e = await caught(pool.run(quick(1), AbortSignal.abort()));
    expect([e.category, e.code]).toEqual(['interrupted', 'node/client-gone']);
    expect(pool.active).toBe(0);
  });

  test('a waiting job leaves the queue; a running one has its worker stopped and replaced', async () => {
    const running = new AbortController();
    const hog = pool.run(endless(), running.signal);
    await until(() => pool.active === 1);
    const waiting = new AbortController();
    const queued = pool.run(quick(2), waiting.signal);
    expect(pool.waiting).toBe(1);
    waiting.abort();
    expect((await caught(queued)).code).toBe('node/client-gone');
    expect(pool.waiting).toBe(0);
    expect(pool.active).toBe(1);

    running.abort();
    expect((await caught(hog)).code).toBe('node/client-gone');
    // Stopped after the grace period (the job's own timeout is a minute away), and replaced.
    await until(() => pool.active === 0);
    expect(stopped()).toBe(1);
    expect(await pool.run(quick(3))).toBe('{"result":4}');
  }, 20_000);

  test('a job that finishes within the grace period keeps its worker', async () => {
    const before = stopped();
    const ac = new AbortController();
    const p = pool.run(quick(4), ac.signal);
    ac.abort();
    expect((await caught(p)).code).toBe('node/client-gone');
    await new Promise((r) => setTimeout(r, 400));
    expect(pool.active).toBe(0);
    expect(stopped()).toBe(before);
    expect(await pool.run(quick(5))).toBe('{"result":6}');
  });
});

describe('query worker pool: started with the node', () => {
  test('start() loads every worker before any job; a job then runs on a ready worker', async () => {
    const pool = new QueryWorkerPool({ size: 2, storage: {} });
    try {
      expect(pool.ready).toBe(0);
      pool.start();
      await until(() => pool.ready === 2);
      expect(pool.waiting).toBe(0);
      expect(await pool.run(quick(7))).toBe('{"result":8}');
      // Started twice is started once.
      pool.start();
      expect(pool.ready).toBe(2);
    } finally {
      await pool.close();
    }
    pool.start();
    expect(pool.ready).toBe(0);
  }, 20_000);
});
