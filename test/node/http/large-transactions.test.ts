/**
 * A transaction above the datoms limit is refused before the node does the expensive work, and
 * the node keeps answering `/health` while it reads and refuses it (docs/limits.md, "Nodes":
 * no request within the limits holds the event loop for a second).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MAX_TX_DATOMS } from '../../../services/node/log/transactor';
import { expectAnomaly } from '../security/helpers';
import { http, startSystem, type TestSystem } from './harness';

let sys: TestSystem;
const txUrl = () => `${sys.url}/v1/databases/big/transact`;

beforeAll(async () => {
  sys = await startSystem();
  expect((await http(`${sys.url}/v1/databases`, { key: sys.adminKey, body: { name: 'big' } })).status).toBe(201);
  const schema = '[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one} {:db/ident :item/m :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]';
  expect((await http(txUrl(), { key: sys.adminKey, body: { txData: schema } })).status).toBe(200);
});
afterAll(() => sys.close());

/**
 * Sends `body` as a transaction while polling `/health`; answers the response, how many health
 * checks were answered while it was in flight, and the longest the event loop was held (ms).
 */
async function transactWatched(body: string): Promise<{ r: { status: number; body: any }; healthAnswers: number; maxDelayMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let inFlight = true;
  let healthAnswers = 0;
  const poll = (async () => {
    while (inFlight) {
      const h = await http(`${sys.url}/health`);
      if (h.status === 200 && inFlight) healthAnswers++;
    }
  })();
  const r = await http(txUrl(), { key: sys.adminKey, rawBody: body });
  inFlight = false;
  await poll;
  delay.disable();
  return { r, healthAnswers, maxDelayMs: delay.max / 1e6 };
}

const tOf = async (): Promise<number> => (await http(`${sys.url}/v1/databases/big/sync`, { key: sys.adminKey, body: {} })).body.t;

test(`a ${2 * MAX_TX_DATOMS}-datom transaction in EDN is refused naming the limit, and /health answers meanwhile`, async () => {
  const t = await tOf();
  const body = JSON.stringify({ txData: `[${Array.from({ length: 2 * MAX_TX_DATOMS }, (_, i) => `{:item/n ${i}}`).join(' ')}]` });
  const { r, healthAnswers, maxDelayMs } = await transactWatched(body);
  expectAnomaly(r, 'incorrect', 'db.error/transaction-too-large', new RegExp(`exceeds the limit of ${MAX_TX_DATOMS} datoms per transaction`));
  expect(r.body.data).toEqual({ limit: MAX_TX_DATOMS });
  expect(healthAnswers).toBeGreaterThan(0);
  expect(maxDelayMs).toBeLessThan(1_000);
  expect(await tOf()).toBe(t);
});

test('JS data naming more datoms than the limit in fewer forms is refused before it is evaluated, and /health answers meanwhile', async () => {
  const t = await tOf();
  const forms = Math.ceil((MAX_TX_DATOMS + 1) / 2);
  const body = JSON.stringify({ txData: Array.from({ length: forms }, (_, i) => ({ 'item/n': i, 'item/m': i })) });
  const { r, healthAnswers, maxDelayMs } = await transactWatched(body);
  expectAnomaly(r, 'incorrect', 'db.error/transaction-too-large', new RegExp(`^Transaction data naming more than ${MAX_TX_DATOMS} datoms exceeds the limit of ${MAX_TX_DATOMS} datoms per transaction$`));
  expect(healthAnswers).toBeGreaterThan(0);
  expect(maxDelayMs).toBeLessThan(1_000);
  expect(await tOf()).toBe(t);
});

test('JS data of more forms than the limit is refused before it is decoded', async () => {
  const body = JSON.stringify({ txData: Array.from({ length: MAX_TX_DATOMS + 1 }, (_, i) => ({ 'item/n': i })) });
  const { r, maxDelayMs } = await transactWatched(body);
  expectAnomaly(r, 'incorrect', 'db.error/transaction-too-large', new RegExp(`^Transaction data of ${MAX_TX_DATOMS + 1} forms exceeds the limit of ${MAX_TX_DATOMS} datoms per transaction$`));
  expect(r.body.data).toEqual({ forms: MAX_TX_DATOMS + 1, limit: MAX_TX_DATOMS });
  expect(maxDelayMs).toBeLessThan(1_000);
});
