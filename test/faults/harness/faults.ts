/**
 * The nemesis: faults injected into a running local cluster. Each `inject` returns the function
 * that heals it (and waits until the cluster is whole again).
 */
import type { FaultCluster } from './cluster';

export interface FaultContext {
  readonly fc: FaultCluster;
  /** The database under test (its preferred node is the target of node faults). */
  readonly db: string;
  /** Records a nemesis event (into the histories and the report). */
  event(what: string): void;
}

export interface Fault {
  readonly name: string;
  readonly description: string;
  inject(ctx: FaultContext): Promise<() => Promise<void>>;
}

const HEAL_TIMEOUT_MS = 60_000;

/** kill -9 of the database's preferred node; the supervisor replaces it. */
export const killPreferred: Fault = {
  name: 'kill-preferred',
  description: 'kill -9 of the preferred node of the database under load; the supervisor replaces it',
  async inject({ fc, db, event }) {
    const node = await fc.preferredNode(db);
    const pid = await fc.cluster.killNode(node.index, 'SIGKILL');
    event(`kill -9 ${node.id} (pid ${pid}, preferred for ${db})`);
    return async () => {
      const n = await fc.cluster.waitReplaced(node.index, pid, HEAL_TIMEOUT_MS);
      await fc.cluster.waitHealthy(undefined, HEAL_TIMEOUT_MS);
      event(`${node.id} replaced (pid ${n.pid})`);
    };
  },
};

/** SIGSTOP of the preferred node, SIGCONT at heal (the supervisor is paused meanwhile, so it is resumed rather than replaced). */
export const pausePreferred: Fault = {
  name: 'pause-preferred',
  description: 'SIGSTOP of the preferred node, SIGCONT after the fault window (supervisor paused: the node is resumed, not replaced)',
  async inject({ fc, db, event }) {
    const node = await fc.preferredNode(db);
    fc.cluster.supervisor.pause();
    const pid = await fc.cluster.killNode(node.index, 'SIGSTOP');
    event(`SIGSTOP ${node.id} (pid ${pid}, preferred for ${db})`);
    return async () => {
      await fc.cluster.killNode(node.index, 'SIGCONT');
      event(`SIGCONT ${node.id}`);
      await fc.cluster.waitHealthy(undefined, HEAL_TIMEOUT_MS);
      fc.cluster.supervisor.resume();
    };
  },
};

/** Storage unreachable: the proxy between nodes and storage refuses and cuts connections. */
export const storageDown: Fault = {
  name: 'storage-down',
  description: 'storage unreachable from every node (the fault proxy refuses and cuts connections)',
  async inject({ fc, event }) {
    fc.storageProxy.setDown(true);
    event('storage down');
    return async () => {
      fc.storageProxy.setDown(false);
      event('storage up');
      await fc.cluster.waitHealthy(undefined, HEAL_TIMEOUT_MS);
    };
  },
};

/** Storage slow: every round trip to storage gets `delayMs` more (half each way). */
export function storageSlow(delayMs = 250): Fault {
  return {
    name: 'storage-slow',
    description: `storage slow: +${delayMs} ms on every round trip from the nodes (half each way)`,
    async inject({ fc, event }) {
      fc.storageProxy.delayMs = Math.ceil(delayMs / 2);
      fc.storageProxy.responseDelayMs = Math.floor(delayMs / 2);
      event(`storage +${delayMs} ms`);
      return async () => {
        fc.storageProxy.delayMs = 0;
        fc.storageProxy.responseDelayMs = 0;
        event('storage latency back to normal');
        await fc.cluster.waitHealthy(undefined, HEAL_TIMEOUT_MS);
      };
    },
  };
}

/** kill -9 of the storage server itself, restarted on the same data at heal. */
export const storageCrash: Fault = {
  name: 'storage-crash',
  description: 'kill -9 of the storage server (dynalite), restarted on the same data after the fault window',
  async inject({ fc, event }) {
    await fc.cluster.storage.kill();
    event('storage killed');
    return async () => {
      await fc.cluster.storage.restart();
      event('storage restarted');
      await fc.cluster.waitHealthy(undefined, HEAL_TIMEOUT_MS);
    };
  },
};

/** Node-to-node requests cut: every node commits what it receives, concurrently. */
export const cutNodes: Fault = {
  name: 'nodes-cut',
  description: 'node-to-node forwarding and notifications cut: every node commits the transactions it receives itself, concurrently',
  async inject({ fc, event }) {
    fc.cutNodes(true);
    event('node-to-node requests cut');
    return async () => {
      fc.cutNodes(false);
      event('node-to-node requests healed');
    };
  },
};

export const ALL_FAULTS: readonly Fault[] = [killPreferred, pausePreferred, storageDown, storageSlow(), cutNodes, storageCrash];

/** A random one of `faults` each cycle (seeded). */
export function mixed(rng: () => number, faults: readonly Fault[] = ALL_FAULTS): Fault {
  return {
    name: 'mixed',
    description: `a random fault each cycle among ${faults.map((f) => f.name).join(', ')}`,
    inject: (ctx) => faults[Math.floor(rng() * faults.length)]!.inject(ctx),
  };
}
