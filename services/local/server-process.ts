/**
 * The life of an embedded storage server run as its own process (dynalite-server.ts,
 * services/local/s3rver-server.ts): start it, print one JSON line
 * `{"endpoint":"http://127.0.0.1:PORT","pid":N}` on stdout when ready, close it on SIGTERM/SIGINT
 * (and, with `exitWithParent`, when stdin closes: the parent is gone, even by kill -9), then exit 0.
 * A failure to start prints the error on stderr and exits 2.
 */
import { isDatalithError } from '../engine';

export interface ServerHandle {
  endpoint: string;
  close(): Promise<void>;
}

/** `start` parses the arguments and starts the server; it says whether to exit with the parent. */
export function runServerProcess(start: () => Promise<{ handle: ServerHandle; exitWithParent?: boolean }>): void {
  const main = async (): Promise<void> => {
    const { handle, exitWithParent } = await start();
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      void handle.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (exitWithParent === true) {
      process.stdin.on('end', stop);
      process.stdin.on('close', stop);
      process.stdin.on('error', stop);
      process.stdin.resume();
    }
    process.stdout.write(`${JSON.stringify({ endpoint: handle.endpoint, pid: process.pid })}\n`);
  };
  main().catch((e: unknown) => {
    const msg = isDatalithError(e) ? `${e.code ?? e.category}: ${e.message}` : String((e as Error)?.stack ?? e);
    process.stderr.write(`${msg}\n`);
    process.exit(2);
  });
}
