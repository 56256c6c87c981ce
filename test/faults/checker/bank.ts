/**
 * Bank-transfer checker (after Jepsen's bank workload). Pure, no I/O.
 *
 * Operations: `transfer` with value `{ from, to, amount }`, and `read` whose ok completion carries
 * every account's balance (`Record<account, balance>`, a Map, or `[account, balance][]`).
 * Transfers move money between accounts, so every read must see balances summing to the constant
 * total; unless the workload allows it, no balance is ever negative.
 */
import { displayOp, History, Op, pairs } from './history';

export type Account = string | number;
export type Balances = Record<string, number | null> | Map<Account, number | null> | [Account, number | null][];

export interface Transfer {
  from: Account;
  to: Account;
  amount: number;
}

export interface BankOptions {
  /** The constant sum of all balances. */
  total: number;
  /** When given, reads must contain exactly these accounts. */
  accounts?: readonly Account[];
  /** Allow negative balances (default false). */
  negativeBalances?: boolean;
  /** Op names (defaults 'read' and 'transfer'). */
  readF?: string;
  transferF?: string;
}

export type BankErrorType = 'wrong-total' | 'negative-value' | 'nil-balance' | 'missing-key' | 'unexpected-key';

export interface BankError {
  type: BankErrorType;
  /** The ok read completion. */
  op: Op;
  /** For wrong-total: the sum the read saw, and the expected total. */
  total?: number;
  expected?: number;
  /** For per-account errors. */
  account?: Account;
  balance?: number | null;
}

export interface BankResult {
  /** False on any error, and when there was no ok read at all (nothing was checked). */
  valid: boolean;
  /** Set when the history could not be checked (no ok read). */
  error?: string;
  /** Every problem found, in history order. */
  errors: BankError[];
  /** The reads with at least one problem (ok completions), in history order. */
  badReads: Op[];
  errorTypes: Partial<Record<BankErrorType, number>>;
  stats: {
    reads: { ok: number; fail: number; info: number };
    transfers: { ok: number; fail: number; info: number };
    /** Distinct totals seen by reads (with how many reads saw each). */
    totals: [number, number][];
  };
}

function entries(b: Balances): [Account, number | null][] {
  if (Array.isArray(b)) return b;
  if (b instanceof Map) return [...b.entries()];
  return Object.entries(b);
}

export function checkBank(history: History, opts: BankOptions): BankResult {
  const readF = opts.readF ?? 'read';
  const transferF = opts.transferF ?? 'transfer';
  const accountSet = opts.accounts ? new Set(opts.accounts.map(String)) : undefined;
  const errors: BankError[] = [];
  const badReads: Op[] = [];
  const reads = { ok: 0, fail: 0, info: 0 };
  const transfers = { ok: 0, fail: 0, info: 0 };
  const totals = new Map<number, number>();

  for (const p of pairs(history)) {
    if (p.f === transferF) {
      transfers[p.type]++;
      continue;
    }
    if (p.f !== readF) continue;
    reads[p.type]++;
    if (p.type !== 'ok') continue;
    const op = displayOp(p);
    const before = errors.length;
    const es = entries(p.value as Balances);
    let sum = 0;
    let complete = true;
    const seen = new Set<string>();
    for (const [account, balance] of es) {
      seen.add(String(account));
      if (accountSet && !accountSet.has(String(account))) errors.push({ type: 'unexpected-key', op, account, balance });
      if (balance === null || balance === undefined || typeof balance !== 'number' || Number.isNaN(balance)) {
        errors.push({ type: 'nil-balance', op, account, balance: balance ?? null });
        complete = false;
        continue;
      }
      if (balance < 0 && !opts.negativeBalances) errors.push({ type: 'negative-value', op, account, balance });
      sum += balance;
    }
    if (accountSet) {
      for (const a of opts.accounts!) {
        if (!seen.has(String(a))) {
          errors.push({ type: 'missing-key', op, account: a });
          complete = false;
        }
      }
    }
    if (complete) {
      totals.set(sum, (totals.get(sum) ?? 0) + 1);
      if (sum !== opts.total) errors.push({ type: 'wrong-total', op, total: sum, expected: opts.total });
    }
    if (errors.length > before) badReads.push(op);
  }

  const errorTypes: Partial<Record<BankErrorType, number>> = {};
  for (const e of errors) errorTypes[e.type] = (errorTypes[e.type] ?? 0) + 1;
  const nothing = reads.ok === 0;
  return {
    valid: errors.length === 0 && !nothing,
    ...(nothing ? { error: 'no ok read' } : {}),
    errors,
    badReads,
    errorTypes,
    stats: { reads, transfers, totals: [...totals].sort((a, b) => b[1] - a[1]) },
  };
}
