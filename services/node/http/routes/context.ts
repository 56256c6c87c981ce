/**
 * What the routes share: the use-cases, the limits, the node's identity and lifecycle, and the
 * one way a success is answered (the wire encoding of a public value).
 */
import type { Response } from 'express';
import { toWire } from '../../../engine';
import type { HttpLimits } from '../../config';
import type { NodeLifecycle } from '../lifecycle';
import type { NodeOperations } from '../operations';
import type { Cluster } from '../../cluster/cluster';
import type { CatalogStore, IndexRootStore, SegmentStore } from '../../storage';

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
  /** The segment store with the index roots and the catalog; absent on a node without one. */
  readonly segmentStorage?: SegmentStorage;
}

/** What segment garbage collection reads and deletes. */
export interface SegmentStorage {
  readonly segments: SegmentStore;
  readonly roots: IndexRootStore;
  readonly catalog: CatalogStore;
}

/**
 * Answers a public value in the wire encoding. Written with `writeHead` and `end` directly:
 * Express's `send` would look up the MIME type, re-parse the Content-Type it set for the
 * charset and check request freshness on every answer, none of which a JSON API needs.
 */
export function sendWire(res: Response, value: unknown, status = 200): void {
  sendJsonText(res, JSON.stringify(toWire(value)), status);
}

/** Answers JSON text as it is. */
export function sendJsonText(res: Response, text: string, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
