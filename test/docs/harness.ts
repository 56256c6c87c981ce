/**
 * Runs the code samples of the documentation, so the docs cannot rot.
 *
 * A sample is a fenced block whose info string says `runnable`:
 *
 *   ```ts runnable            TypeScript. The runnable blocks of one file run in order as one
 *                             program (later blocks see earlier blocks' variables); `isolated`
 *                             gives a block its own scope. `import … from 'datalith'` is the SDK.
 *                             `console.log(x); // => v` asserts that x equals v (a JS
 *                             expression; `expect.any(Date)` and friends work; arrays of results
 *                             compare in any order, since query results are sets). `// =>` on
 *                             its own line checks the last `console.log`; the expected value may
 *                             continue on following `//` lines; `  // note` after it is a remark.
 *   ```sh runnable            `$ npx datalith …` lines run the CLI; the lines after a command are
 *                             its expected output (stdout, then stderr). `...` on a line of its
 *                             own stands for any lines, `…` inside a line for any text. A command
 *                             may read stdin with `< file`, `cat file |` or `echo '…' |`, and
 *                             write stdout to a file with `> file`.
 *   ```edn file=NAME          not run: written to NAME in the sample's working directory, for
 *                             the shell samples that follow.
 *
 * `target=memory` or `target=cluster` restricts a block to one target (TypeScript blocks run on
 * both, shell blocks on the cluster). On each target, `createClient(…)` in a sample returns a
 * client of that target whatever options the sample passes — `{ local: {} }` in memory, or the
 * test's local cluster — unless the block says `as-written`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { transformSync } from 'esbuild';

export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly flags: ReadonlySet<string>;
  readonly attrs: Readonly<Record<string, string>>;
  readonly code: string;
}

export type Target = 'memory' | 'cluster';

export function extractBlocks(file: string): Block[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+)(.*)$/.exec(lines[i] as string);
    if (open === null) continue;
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const info = (open[3] as string).trim().split(/\s+/).filter((w) => w !== '');
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] as string;
      if (l.trim() === fence) break;
      body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
    }
    const [lang = '', ...rest] = info;
    const flags = new Set<string>();
    const attrs: Record<string, string> = {};
    for (const w of rest) {
      const eq = w.indexOf('=');
      if (eq === -1) flags.add(w);
      else attrs[w.slice(0, eq)] = w.slice(eq + 1);
    }
    blocks.push({ file, line: i + 1, lang, flags, attrs, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

export function runsOn(b: Block, target: Target): boolean {
  const t = b.attrs['target'];
  if (t !== undefined) return t === target || t === 'both';
  return b.lang === 'sh' ? target === 'cluster' : true;
}

export const isRunnable = (b: Block): boolean => b.flags.has('runnable');

// ---- TypeScript samples --------------------------------------------------------------------

export interface Check {
  readonly id: number;
  readonly where: string;
  readonly expected: string;
}

export interface CompiledDoc {
  /** One `yield` after each block: drive it with `next()` once per block. */
  readonly start: (env: SampleEnv) => AsyncGenerator<number, void, void>;
  readonly checks: Check[];
  readonly blocks: Block[];
}

export interface SampleEnv {
  readonly importModule: (name: string) => unknown;
  /** Compares the last `console.log`ged value with check `id`'s expected value. */
  readonly check: (id: number) => void;
  readonly console: { log: (...args: unknown[]) => void };
  readonly expect: unknown;
  /** `createClient` for blocks marked `as-written` (they also get their own scope). */
  readonly createClientAsWritten: unknown;
}

const IMPORT = /^\s*import\s+(?:type\s+)?(?:(\*\s+as\s+\w+)|(\w+)|\{([^}]*)\})\s+from\s+['"]([^'"]+)['"];?\s*$/;

function parses(expr: string): boolean {
  try {
    // eslint-disable-next-line no-new-func
    new Function(`return (${expr});`);
    return true;
  } catch {
    return false;
  }
}

/** Turns a file's TypeScript samples into one async generator function. */
export function compileDoc(blocks: Block[]): CompiledDoc {
  const imports = new Map<string, string>(); // local name → statement
  const checks: Check[] = [];
  const parts: string[] = [];
  blocks.forEach((b, bi) => {
    const lines = b.code.split('\n');
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const where = `${path.basename(b.file)}:${b.line + 1 + i}`;
      const im = IMPORT.exec(line);
      if (im !== null) {
        const from = JSON.stringify(im[4]);
        if (line.includes('import type')) {
          out.push('');
          continue;
        }
        if (im[1] !== undefined) {
          const name = (im[1].split(/\s+/).pop() as string);
          imports.set(name, `const ${name} = __import(${from});`);
        } else if (im[2] !== undefined) {
          imports.set(im[2], `const ${im[2]} = ((m) => m && m.default !== undefined ? m.default : m)(__import(${from}));`);
        } else {
          for (const spec of (im[3] as string).split(',').map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('type '))) {
            const [orig, alias] = spec.split(/\s+as\s+/) as [string, string | undefined];
            imports.set(alias ?? orig, `const ${alias ?? orig} = __import(${from})[${JSON.stringify(orig)}];`);
          }
        }
        out.push('');
        continue;
      }
      const at = line.indexOf('// =>');
      if (at === -1) {
        out.push(line);
        continue;
      }
      // The expected value, maybe continued on the next comment lines, maybe with a remark.
      let expected = line.slice(at + 5).trim();
      const remark = (s: string): string => {
        const r = s.indexOf('  //');
        return r === -1 ? s : s.slice(0, r).trim();
      };
      expected = remark(expected);
      out.push(line.slice(0, at));
      while (!parses(expected) && i + 1 < lines.length && /^\s*\/\/(?! =>)/.test(lines[i + 1] as string)) {
        i++;
        expected = `${expected}\n${remark((lines[i] as string).replace(/^\s*\/\/\s?/, ''))}`;
        out.push('');
      }
      if (!parses(expected)) throw new Error(`${where}: the expected value after // => is not a JS expression: ${expected}`);
      const id = checks.length;
      checks.push({ id, where, expected });
      out[out.length - 1] = `${out[out.length - 1] as string}\n__check(${id});`;
    }
    const code = out.join('\n');
    const body = b.flags.has('as-written') ? `const createClient = __createClientAsWritten;\n${code}` : code;
    parts.push(b.flags.has('isolated') || b.flags.has('as-written') ? `{\n${body}\n}` : body, `yield ${bi};`);
  });
  const source = `async function* __doc(__import, __check, console, expect, __createClientAsWritten) {\n${[...imports.values()].join('\n')}\n${parts.join('\n')}\n}`;
  let js: string;
  try {
    js = transformSync(source, { loader: 'ts', target: 'es2022', sourcefile: blocks[0]?.file ?? 'sample.ts' }).code;
  } catch (e) {
    throw new Error(`the samples of ${blocks[0]?.file} do not compile: ${(e as Error).message}`);
  }
  // eslint-disable-next-line no-new-func
  const fn = new Function(`${js}\nreturn __doc;`)() as (...a: unknown[]) => AsyncGenerator<number, void, void>;
  return {
    checks,
    blocks,
    start: (env) => fn(env.importModule, env.check, env.console, env.expect, env.createClientAsWritten),
  };
}

/** `expected` evaluated with `expect` in scope (for asymmetric matchers). */
export function expectedValue(c: Check, expectFn: unknown): unknown {
  // eslint-disable-next-line no-new-func
  return new Function('expect', `return (${c.expected});`)(expectFn);
}

// ---- shell samples -------------------------------------------------------------------------

export interface ShellStep {
  readonly where: string;
  readonly argv: string[];
  readonly stdinFile?: string;
  readonly stdinText?: string;
  /** `> file`: stdout goes to this file in the working directory. */
  readonly stdoutFile?: string;
  readonly expected: string[];
}

/** The last index of one of `chars` outside quotes, or -1. */
function unquotedIndexOfAny(s: string, chars: string): number {
  let found = -1;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '\\') {
      i++;
    } else if (chars.includes(c)) {
      found = i;
    }
  }
  return found;
}

/** Splits a command line like a POSIX shell would for the simple cases the docs use. */
export function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end === -1) throw new Error(`unclosed ' in ${s}`);
      cur += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1] as string)) i++;
        cur += s[i];
      }
      if (i >= s.length) throw new Error(`unclosed " in ${s}`);
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export function shellSteps(b: Block): ShellStep[] {
  const lines = b.code.split('\n');
  const steps: ShellStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith('$ ')) {
      if (line.trim() === '') continue;
      throw new Error(`${path.basename(b.file)}:${b.line + 1 + i}: output before any command: ${line}`);
    }
    let cmd = line.slice(2);
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = `${cmd.slice(0, -1)} ${(lines[++i] as string).trim()}`;
    const where = `${path.basename(b.file)}:${b.line + 1 + i}`;
    const expected: string[] = [];
    while (i + 1 < lines.length && !(lines[i + 1] as string).startsWith('$ ')) expected.push(lines[++i] as string);
    while (expected.length > 0 && (expected[expected.length - 1] as string).trim() === '') expected.pop();
    let stdinFile: string | undefined;
    let stdinText: string | undefined;
    let m = /^cat\s+(\S+)\s*\|\s*(.*)$/.exec(cmd);
    if (m !== null) {
      stdinFile = m[1];
      cmd = m[2] as string;
    }
    m = /^echo\s+('(?:[^']*)')\s*\|\s*(.*)$/.exec(cmd);
    if (m !== null) {
      stdinText = `${shellWords(m[1] as string)[0] as string}\n`;
      cmd = m[2] as string;
    }
    let stdoutFile: string | undefined;
    for (;;) {
      const at = unquotedIndexOfAny(cmd, '<>');
      if (at === -1) break;
      const target = shellWords(cmd.slice(at + 1))[0];
      if (target === undefined || shellWords(cmd.slice(at + 1)).length !== 1) throw new Error(`${where}: a redirection must end the command: ${cmd}`);
      if (cmd[at] === '<') stdinFile = target;
      else stdoutFile = target;
      cmd = cmd.slice(0, at).trimEnd();
    }
    const argv = shellWords(cmd);
    if (argv[0] !== 'npx' || argv[1] !== 'datalith') throw new Error(`${where}: only \`npx datalith …\` commands run in samples, got: ${cmd}`);
    steps.push({
      where,
      argv: argv.slice(2),
      ...(stdinFile !== undefined ? { stdinFile } : {}),
      ...(stdinText !== undefined ? { stdinText } : {}),
      ...(stdoutFile !== undefined ? { stdoutFile } : {}),
      expected,
    });
  }
  return steps;
}

/** Matches output lines against expected lines with `...` (any lines) and `…` (any text). */
export function outputMatches(actual: string[], expected: string[]): boolean {
  const lineMatches = (a: string, e: string): boolean => {
    if (!e.includes('…')) return a.trimEnd() === e.trimEnd();
    const re = new RegExp(`^${e.trimEnd().split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(a.trimEnd());
  };
  const go = (i: number, j: number): boolean => {
    if (j === expected.length) return i === actual.length;
    if ((expected[j] as string).trim() === '...') {
      for (let k = i; k <= actual.length; k++) if (go(k, j + 1)) return true;
      return false;
    }
    return i < actual.length && lineMatches(actual[i] as string, expected[j] as string) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

export const ANOMALY_LINE = /^(busy|unavailable|interrupted|incorrect|forbidden|not-found|conflict|unsupported|fault): /;
