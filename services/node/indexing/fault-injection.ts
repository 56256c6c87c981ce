/**
 * Fault injection for the indexing job (the fault suite, docs/faults.md; never set in production):
 * `DATALITH_FAULT_INDEXING_KILL_AT=<step>[:<n>]` makes the node process kill itself with SIGKILL
 * the n-th time (default: the first) one of its indexing jobs reaches `<step>`, one of
 * `segment-put` (a segment put is durable; others may still be in flight), `segments-written`,
 * `root-advanced`, `rebased` (services/node/indexing/durable.ts, `IndexingStep`). It stands for a
 * crash at that point: nothing after it runs, no shutdown, no flush.
 *
 * The environment is read once, when the node process starts (services/node/main.ts `main`);
 * `startNode` in a test process never reads it, so it cannot kill a test runner.
 */
import { DatalithError } from '../../engine';
import { INDEXING_STEPS, type IndexingOptions, type IndexingStep } from './durable';

export const INDEXING_KILL_ENV = 'DATALITH_FAULT_INDEXING_KILL_AT';

export interface IndexingKill {
  readonly step: IndexingStep;
  /** The n-th time a job of this process reaches the step (1: the first). */
  readonly nth: number;
}

/** The kill point the environment names, or undefined when it names none. */
export function indexingKillFrom(env: NodeJS.ProcessEnv): IndexingKill | undefined {
  const raw = env[INDEXING_KILL_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const m = /^([a-z-]+)(?::(\d+))?$/.exec(raw);
  const step = m?.[1] as IndexingStep | undefined;
  const nth = m?.[2] === undefined ? 1 : Number(m[2]);
  if (step === undefined || !INDEXING_STEPS.includes(step) || !Number.isSafeInteger(nth) || nth < 1) {
    throw new DatalithError('incorrect',
      `Configuration ${INDEXING_KILL_ENV}: received ${JSON.stringify(raw)}; allowed: <step> or <step>:<n> (n ≥ 1), step one of ${INDEXING_STEPS.join(', ')}`,
      'config/invalid', { name: INDEXING_KILL_ENV });
  }
  return { step, nth };
}

/** Says so on stderr (written synchronously to a file or pipe), then SIGKILL of this process. */
function sigkillSelf(kill: IndexingKill, db: string): void {
  process.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), msg: 'fault injection: SIGKILL at an indexing step', step: kill.step, nth: kill.nth, db })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** An indexing `onStep` that calls `die` (default: SIGKILL of this process) at the kill point. */
export function killAtStep(kill: IndexingKill, die: (db: string) => void = (db) => sigkillSelf(kill, db)): NonNullable<IndexingOptions['onStep']> {
  let seen = 0;
  return (step, host) => {
    if (step === kill.step && ++seen === kill.nth) die(host.name);
  };
}
