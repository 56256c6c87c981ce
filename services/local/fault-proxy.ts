/**
 * A small TCP proxy for faults between nodes and storage: it adds latency to every chunk sent
 * towards the target (one added delay per request/response round trip) and, with
 * `responseDelayMs`, to every chunk coming back; or refuses and cuts connections while `down`;
 * or, while `stalled`, accepts connections and swallows every byte both ways (a silently dead
 * path: the peer's kernel answers, nothing else does).
 * Used by bench:log (+5 ms per DynamoDB round trip) and by the fault-injection suite (storage
 * unavailable or slow).
 */
import net from 'node:net';

export interface FaultProxy {
  readonly port: number;
  readonly endpoint: string;
  /** Milliseconds added before each chunk is forwarded to the target. */
  delayMs: number;
  /** Milliseconds added before each chunk from the target is passed back (default 0). */
  responseDelayMs: number;
  /** While down, new connections are refused and open ones are cut. */
  setDown(down: boolean): void;
  /**
   * While stalled, connections are accepted and every byte is dropped, both ways. Connections
   * that lost bytes are cut when the stall ends (their streams are no longer whole).
   */
  setStalled(stalled: boolean): void;
  close(): Promise<void>;
}

/**
 * Writes each chunk to `to` after the current delay, in the order the chunks came even when the
 * delay changes meanwhile (one timer per direction walks a queue).
 */
function delayed(to: net.Socket, delayMs: () => number): (chunk: Buffer) => void {
  const queue: Array<{ due: number; chunk: Buffer }> = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.due <= now) to.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - now);
  };
  return (chunk) => {
    const d = delayMs();
    if (d <= 0 && queue.length === 0) {
      to.write(chunk);
      return;
    }
    const last = queue.length > 0 ? queue[queue.length - 1]!.due : 0;
    queue.push({ due: Math.max(Date.now() + d, last), chunk });
    if (timer === undefined) timer = setTimeout(drain, Math.max(0, queue[0]!.due - Date.now()));
  };
}

export async function startFaultProxy(target: { host: string; port: number }, opts: { delayMs?: number; responseDelayMs?: number; port?: number } = {}): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  let stalled = false;
  /** Connections that dropped bytes during the current stall. */
  const damaged = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const forget = (): void => {
      damaged.delete(client);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    const pass = (from: net.Socket, write: (chunk: Buffer) => void) => (chunk: Buffer): void => {
      if (!stalled) return write(chunk);
      damaged.add(from);
    };
    client.on('data', pass(client, delayed(upstream, () => proxy.delayMs)));
    upstream.on('data', pass(client, delayed(client, () => proxy.responseDelayMs)));
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('error', forget);
    upstream.on('error', forget);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: FaultProxy = {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    delayMs: opts.delayMs ?? 0,
    responseDelayMs: opts.responseDelayMs ?? 0,
    setDown(d: boolean) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    setStalled(s: boolean) {
      stalled = s;
      if (s) return;
      for (const c of damaged) c.destroy();
      damaged.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
