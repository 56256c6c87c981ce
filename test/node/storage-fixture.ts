/**
 * A dynalite server with the node's tables for one test file: `useStorage()` starts it before
 * the file's tests and stops it after; the returned object's fields are set once it runs.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CatalogStore, createDynamoClient, ensureTables } from '../../services/node/storage';
import { LogStore } from '../../services/node/log';
import { startDynaliteInProcess, type DynaliteHandle } from '../../services/local/dynalite';

export interface TestStorage {
  handle: DynaliteHandle;
  client: DynamoDBClient;
  log: LogStore;
  catalog: CatalogStore;
}

export function useStorage(): TestStorage {
  const s = {} as TestStorage;
  beforeAll(async () => {
    s.handle = await startDynaliteInProcess();
    s.client = createDynamoClient({ endpoint: s.handle.endpoint });
    await ensureTables(s.client);
    s.log = new LogStore(s.client);
    s.catalog = new CatalogStore(s.client);
  });
  afterAll(async () => {
    s.client.destroy();
    await s.handle.close();
  });
  return s;
}
