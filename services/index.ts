/**
 * The package root (`import … from 'datalith'`): the client SDK, with the durable local mode
 * (`createClient({ local: { dir } })`) plugged in. That mode runs the node's storage and
 * transactor code in-process, so it is loaded only when a client asks for it: a remote client
 * loads the SDK and the engine, nothing of the server and no dynalite.
 */
import { provideDurableLocalMode } from './client';

provideDurableLocalMode((dir) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EmbeddedClient } = require('./local/embedded') as typeof import('./local/embedded');
  return new EmbeddedClient(dir);
});

export * from './client';
