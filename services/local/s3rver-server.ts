/**
 * s3rver as its own process: `tsx services/local/s3rver-server.ts --dir DIR [--port P]`.
 * Its life (the ready line, signals, exit codes) is services/local/server-process.ts;
 * `npm start` runs it under the orphan guard (services/local/process.ts), like the embedded DynamoDB.
 */
import { runServerProcess } from './server-process';
import { startS3rverInProcess } from './s3rver';

function parseArgs(argv: string[]): { dir: string; port: number } {
  let dir: string | undefined;
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--dir' && v !== undefined) { dir = v; i++; }
    else if (a === '--port' && v !== undefined) { port = Number(v); i++; }
    else throw new Error(`unknown argument ${a}; usage: s3rver-server --dir DIR [--port PORT]`);
  }
  if (dir === undefined) throw new Error('usage: s3rver-server --dir DIR [--port PORT]');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${port}`);
  return { dir, port };
}

runServerProcess(async () => ({ handle: await startS3rverInProcess(parseArgs(process.argv.slice(2))) }));
