/** Names the system gives things: database names (one rule for the SDK, the node and the CLI). */
import { incorrect } from './errors';
import { describeValue } from './errors';

const DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkDatabaseName(name: unknown): string {
  if (typeof name !== 'string' || !DATABASE_NAME.test(name)) {
    throw incorrect('db.error/invalid-db-name', `Invalid database name ${describeValue(name)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}
