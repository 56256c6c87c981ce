/** The docs harness itself: a wrong `// =>` or a wrong CLI output must fail. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileDoc, expectedValue, extractBlocks, outputMatches, shellSteps, shellWords, type Block, type SampleEnv } from './harness';

function block(code: string, lang = 'ts', flags: string[] = ['runnable']): Block {
  return { file: 'x.md', line: 1, lang, flags: new Set(flags), attrs: {}, code };
}

async function runDoc(blocks: Block[]): Promise<{ checked: Array<[unknown, unknown]> }> {
  const compiled = compileDoc(blocks);
  const checked: Array<[unknown, unknown]> = [];
  let last: unknown;
  const env: SampleEnv = {
    importModule: (n) => (n === 'm' ? { two: 2 } : require(n)),
    console: { log: (...a: unknown[]) => { last = a.length === 1 ? a[0] : a; } },
    check: (id) => {
      const c = compiled.checks[id];
      const expected = expectedValue(c!, expect);
      checked.push([last, expected]);
      expect(last).toEqual(expected);
    },
    expect,
    createClientAsWritten: undefined,
  };
  const gen = compiled.start(env);
  for (let i = 0; i < blocks.length; i++) expect((await gen.next()).value).toBe(i);
  return { checked };
}

test('blocks share one scope, imports are hoisted, // => compares the last console.log', async () => {
  const { checked } = await runDoc([
    block("import { two } from 'm';\nconst x: number = two + 1;\nconsole.log(x); // => 3"),
    block("import { two } from 'm';\nconsole.log([x, two]);\n// => [3,\n//     2]  // a remark"),
  ]);
  expect(checked).toEqual([[3, 3], [[3, 2], [3, 2]]]);
});

test('a wrong expectation fails, with matchers available', async () => {
  await expect(runDoc([block('console.log(1 + 1); // => 3')])).rejects.toThrow();
  await runDoc([block('console.log(new Date()); // => expect.any(Date)')]);
});

test('isolated blocks keep their declarations', async () => {
  await runDoc([block('const a = 1;', 'ts', ['runnable', 'isolated']), block('const a = 2;\nconsole.log(a); // => 2')]);
});

test('an expected value that is no JS expression is refused at compile time', () => {
  expect(() => compileDoc([block('console.log(1); // => [1,')])).toThrow(/not a JS expression/);
});

test('shell words and steps', () => {
  expect(shellWords(`q music '[:find ?n :where [_ :a/n ?n]]' --args "[\\"x\\"]" a\\ b`)).toEqual(['q', 'music', '[:find ?n :where [_ :a/n ?n]]', '--args', '["x"]', 'a b']);
  const steps = shellSteps(block("$ npx datalith databases list\nmusic\n$ echo '[1]' | npx datalith transact m\nok\n$ npx datalith transact m < f.edn", 'sh'));
  expect(steps.map((s) => [s.argv, s.expected, s.stdinText, s.stdinFile])).toEqual([
    [['databases', 'list'], ['music'], undefined, undefined],
    [['transact', 'm'], ['ok'], '[1]\n', undefined],
    [['transact', 'm'], [], undefined, 'f.edn'],
  ]);
  expect(() => shellSteps(block('$ rm -rf /', 'sh'))).toThrow(/only `npx datalith/);
  const redirect = shellSteps(block("$ npx datalith q m '[:find ?x :where [_ :a ?x] [(< ?x 2)] [(> ?x 0)]]' > out.txt", 'sh'));
  expect(redirect.map((s) => [s.argv, s.stdoutFile, s.stdinFile])).toEqual([[['q', 'm', '[:find ?x :where [_ :a ?x] [(< ?x 2)] [(> ?x 0)]]'], 'out.txt', undefined]]);
});

test('output matching with ... and …', () => {
  expect(outputMatches(['a', 'b', 'c'], ['a', '...', 'c'])).toBe(true);
  expect(outputMatches(['a', 'c'], ['a', '...', 'c'])).toBe(true);
  expect(outputMatches(['a', 'x'], ['a', '...', 'c'])).toBe(false);
  expect(outputMatches(['port 1234 ok'], ['port … ok'])).toBe(true);
  expect(outputMatches(['port 1234 ok'], ['port … no'])).toBe(false);
  expect(outputMatches(['a', 'b'], ['a'])).toBe(false);
});

test('blocks are extracted with their info string', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-'));
  const f = path.join(dir, 'd.md');
  fs.writeFileSync(f, 'text\n```ts runnable target=memory\nconst a = 1;\n```\n\n  ```edn file=x.edn\n  [1]\n  ```\n');
  const bs = extractBlocks(f);
  fs.rmSync(dir, { recursive: true });
  expect(bs.map((b) => [b.line, b.lang, [...b.flags], b.attrs, b.code])).toEqual([
    [2, 'ts', ['runnable'], { target: 'memory' }, 'const a = 1;'],
    [6, 'edn', [], { file: 'x.edn' }, '[1]'],
  ]);
});
