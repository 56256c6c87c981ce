/**
 * Table names and key schemas (shared with the CDK storage stack):
 *   catalog: pk `pk` (S), sk `sk` (S)
 *   log:     pk `db` (S), sk `t`  (N)
 * Locally the node creates absent tables (PAY_PER_REQUEST); in AWS the CDK stack owns them.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  type AttributeDefinition,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { DatalithError } from '../../engine';
import { errorName, isResourceNotFound, storageError } from './errors';

export interface TableNames {
  catalogTable: string;
  logTable: string;
}

export const DEFAULT_TABLE_NAMES: Readonly<TableNames> = Object.freeze({
  catalogTable: 'datalith-catalog',
  logTable: 'datalith-log',
});

export function tableNames(names: Partial<TableNames> = {}): TableNames {
  return {
    catalogTable: names.catalogTable ?? DEFAULT_TABLE_NAMES.catalogTable,
    logTable: names.logTable ?? DEFAULT_TABLE_NAMES.logTable,
  };
}

interface KeySpec {
  pk: string;
  pkType: 'S' | 'N';
  sk: string;
  skType: 'S' | 'N';
}

export const CATALOG_KEYS: Readonly<KeySpec> = Object.freeze({ pk: 'pk', pkType: 'S', sk: 'sk', skType: 'S' });
export const LOG_KEYS: Readonly<KeySpec> = Object.freeze({ pk: 'db', pkType: 'S', sk: 't', skType: 'N' });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function describe(client: DynamoDBClient, table: string): Promise<TableDescription | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    return out.Table;
  } catch (e) {
    if (isResourceNotFound(e)) return undefined;
    throw storageError('DescribeTable', e, { table });
  }
}

function checkSchema(table: string, desc: TableDescription, spec: KeySpec): void {
  const ks: KeySchemaElement[] = desc.KeySchema ?? [];
  const attrs: AttributeDefinition[] = desc.AttributeDefinitions ?? [];
  const typeOf = (n: string): string | undefined => attrs.find((a) => a.AttributeName === n)?.AttributeType;
  const hash = ks.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = ks.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== spec.pk || range !== spec.sk || typeOf(spec.pk) !== spec.pkType || typeOf(spec.sk) !== spec.skType) {
    throw new DatalithError(
      'fault',
      `table ${table} has key schema ${hash}/${range}, expected ${spec.pk} (${spec.pkType}) / ${spec.sk} (${spec.skType})`,
      'storage/table-schema-mismatch',
      { table },
    );
  }
}

async function ensureTable(client: DynamoDBClient, table: string, spec: KeySpec, timeoutMs: number): Promise<void> {
  let desc = await describe(client, table);
  if (desc === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: spec.pk, AttributeType: spec.pkType },
            { AttributeName: spec.sk, AttributeType: spec.skType },
          ],
          KeySchema: [
            { AttributeName: spec.pk, KeyType: 'HASH' },
            { AttributeName: spec.sk, KeyType: 'RANGE' },
          ],
        }),
      );
    } catch (e) {
      // Another node created it concurrently: fine.
      if (errorName(e) !== 'ResourceInUseException') throw storageError('CreateTable', e, { table });
    }
    desc = await describe(client, table);
  }
  const deadline = Date.now() + timeoutMs;
  while (desc === undefined || desc.TableStatus !== 'ACTIVE') {
    if (Date.now() > deadline) {
      throw new DatalithError('unavailable', `table ${table} did not become ACTIVE within ${timeoutMs} ms`,
        'storage/table-not-active', { table, status: desc?.TableStatus });
    }
    await sleep(200);
    desc = await describe(client, table);
  }
  checkSchema(table, desc, spec);
}

/**
 * Create the catalog and log tables when absent and wait until they are ACTIVE; verify the key
 * schema of existing tables. Safe to call concurrently from several nodes.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: Partial<TableNames> = {},
  opts: { timeoutMs?: number } = {},
): Promise<TableNames> {
  const n = tableNames(names);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  await Promise.all([
    ensureTable(client, n.catalogTable, CATALOG_KEYS, timeoutMs),
    ensureTable(client, n.logTable, LOG_KEYS, timeoutMs),
  ]);
  return n;
}
