/**
 * A small TCP proxy for faults between nodes and storage: it adds latency to every chunk sent
 * towards the target (one added delay per request/response round trip), or refuses and cuts
 * connections while `down`. Used by bench:log (+5 ms per DynamoDB round trip) and by the
 * fault-injection suite (storage unavailable or slow).
 */
import net from 'node:net';

export interface FaultProxy {
  readonly port: number;
  readonly endpoint: string;
  /** Milliseconds added before each chunk is forwarded to the target. */
  delayMs: number;
  /** While down, new connections are refused and open ones are cut. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }, opts: { delayMs?: number; port?: number } = {}): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
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
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      // Timers with the same delay fire in order, so the byte stream keeps its order.
      if (proxy.delayMs > 0) setTimeout(() => upstream.write(chunk), proxy.delayMs);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
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
    setDown(d: boolean) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
