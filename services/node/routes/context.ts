/**
 * What the routes share: the use-cases, the limits, the node's identity and lifecycle, and the
 * one way a success is answered (the wire encoding of a public value).
 */
import type { Response } from 'express';
import { toWire } from '../../engine/wire';
import type { HttpLimits } from '../config';
import type { NodeLifecycle } from '../http-lifecycle';
import type { NodeOperations } from '../http-operations';
import type { Cluster } from '../cluster';

export interface ClusterNode {
  readonly id: string;
  readonly url: string;
  readonly pid?: number;
  readonly healthy: boolean;
}

export interface RouteContext {
  readonly ops: NodeOperations;
  readonly limits: HttpLimits;
  readonly nodeId: string;
  readonly lifecycle: NodeLifecycle;
  /** The nodes of the system (cluster code provides it; default: this node alone). */
  readonly clusterNodes: () => Promise<readonly ClusterNode[]>;
  /** Membership, preferred nodes and forwarding; absent for a node on its own. */
  readonly cluster?: Cluster;
}

/** Answers a public value in the wire encoding. */
export function sendWire(res: Response, value: unknown, status = 200): void {
  res.status(status).type('application/json').send(JSON.stringify(toWire(value)));
}
