/**
 * Node metrics for CloudWatch (the dashboard and alarms of the CDK stack, docs/deploy.md):
 * Transactions, TransactionLatency, PendingOperations, Conflicts, CatchUpLag and MemoryUsed,
 * and with a segment store IndexingLag, TailDatoms, SegmentCacheHitRate, SegmentFetches,
 * IndexingJobs and IndexingFailures (docs/indexing.md), published once a minute with
 * PutMetricData into DATALITH_METRICS_NAMESPACE, without dimensions, so CloudWatch merges the
 * nodes' data points.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { Databases } from './databases';
import type { SegmentCacheStats } from './indexing/segment-cache';

/** What the transactor reports; every database host of a node reports into one. */
export interface TransactorObserver {
  /** A transaction was acknowledged `ms` after it arrived (not for duplicates). */
  committed(ms: number): void;
  /** A conditional append lost the race and the batch was retried. */
  conflict(): void;
  /** A catch-up applied `behind` transactions committed elsewhere. */
  caughtUp(behind: number): void;
}

/** Distinct latency values kept per period; PutMetricData takes at most 150 per datum. */
const MAX_VALUES = 150;

/** Counters of a node's indexing since it started: the event loop's segment cache, and its jobs. */
interface IndexingCounters {
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly segmentFetches: number;
  readonly jobs: number;
  readonly failures: number;
}

/** A node's indexing as the publisher samples it: gauges at this moment, and the counters so far. */
export interface IndexingSample extends IndexingCounters {
  /** The largest t − indexedT over the node's loaded databases (0 with none loaded). */
  readonly lag: number;
  /** The largest tail (datoms logged after indexedT) over the node's loaded databases. */
  readonly tailDatoms: number;
}

/** What the node is at the end of a period. */
export interface NodeGauges {
  /** Queued transactions and running requests on this node right now. */
  readonly pendingOperations: number;
  /** Absent on a node without a segment store: nothing indexes there, so nothing is published. */
  readonly indexing?: IndexingSample;
}

/**
 * Samples the indexing of the node's loaded databases; undefined without a segment store. The
 * cache counters add the query workers' caches (`workers`: the pool's sum as of their last
 * answers), where the reads run: the event loop's alone would say how transactions find their
 * segments, not queries.
 */
export async function sampleIndexing(databases: Databases, workers?: () => SegmentCacheStats | undefined): Promise<IndexingSample | undefined> {
  const ix = databases.indexing;
  if (ix === null) return undefined;
  let lag = 0;
  let tailDatoms = 0;
  for (const [, h] of await databases.readyHosts()) {
    lag = Math.max(lag, h.db.t - h.indexedT);
    tailDatoms = Math.max(tailDatoms, h.tailDatoms);
  }
  const cache = ix.opts.cache.snapshot();
  const w = workers?.();
  return {
    lag,
    tailDatoms,
    cacheHits: cache.hits + (w?.hits ?? 0),
    cacheMisses: cache.misses + (w?.misses ?? 0),
    segmentFetches: cache.fetches + (w?.fetches ?? 0),
    jobs: ix.stats.jobs,
    failures: ix.stats.failures,
  };
}

export class NodeMetrics implements TransactorObserver {
  private transactions = 0;
  private conflicts = 0;
  private lagMax = 0;
  /** Latency in whole milliseconds → how many transactions took it. */
  private latencies = new Map<number, number>();
  /** The indexing counters at the end of the last period (their growth is the period's count). */
  private lastIndexing: IndexingCounters = { cacheHits: 0, cacheMisses: 0, segmentFetches: 0, jobs: 0, failures: 0 };

  committed(ms: number): void {
    this.transactions++;
    // Coarser buckets above 100 ms keep the distinct values under the PutMetricData limit.
    const v = ms < 100 ? Math.round(ms) : Math.round(ms / 10) * 10;
    if (this.latencies.size < MAX_VALUES || this.latencies.has(v)) this.latencies.set(v, (this.latencies.get(v) ?? 0) + 1);
  }

  conflict(): void {
    this.conflicts++;
  }

  caughtUp(behind: number): void {
    if (behind > this.lagMax) this.lagMax = behind;
  }

  /** The period's data points; counters start again from zero. */
  drain(gauges: NodeGauges, now = new Date()): MetricDatum[] {
    const data: MetricDatum[] = [
      { MetricName: 'Transactions', Unit: 'Count', Value: this.transactions, Timestamp: now },
      { MetricName: 'Conflicts', Unit: 'Count', Value: this.conflicts, Timestamp: now },
      { MetricName: 'CatchUpLag', Unit: 'Count', Value: this.lagMax, Timestamp: now },
      { MetricName: 'PendingOperations', Unit: 'Count', Value: gauges.pendingOperations, Timestamp: now },
      { MetricName: 'MemoryUsed', Unit: 'Bytes', Value: process.memoryUsage().rss, Timestamp: now },
    ];
    if (gauges.indexing !== undefined) data.push(...this.indexingData(gauges.indexing, now));
    if (this.latencies.size > 0) {
      data.push({
        MetricName: 'TransactionLatency',
        Unit: 'Milliseconds',
        Values: [...this.latencies.keys()],
        Counts: [...this.latencies.values()],
        Timestamp: now,
      });
    }
    this.transactions = 0;
    this.conflicts = 0;
    this.lagMax = 0;
    this.latencies = new Map();
    return data;
  }

  /** The indexing gauges as they are, and the counters' growth since the last period. */
  private indexingData(x: IndexingSample, now: Date): MetricDatum[] {
    const last = this.lastIndexing;
    this.lastIndexing = { cacheHits: x.cacheHits, cacheMisses: x.cacheMisses, segmentFetches: x.segmentFetches, jobs: x.jobs, failures: x.failures };
    // A query worker replaced starts its counters at zero: a sum that went down counts nothing.
    const grew = (now: number, before: number): number => Math.max(0, now - before);
    const hits = grew(x.cacheHits, last.cacheHits);
    const lookups = hits + grew(x.cacheMisses, last.cacheMisses);
    const data: MetricDatum[] = [
      { MetricName: 'IndexingLag', Unit: 'Count', Value: x.lag, Timestamp: now },
      { MetricName: 'TailDatoms', Unit: 'Count', Value: x.tailDatoms, Timestamp: now },
      { MetricName: 'SegmentFetches', Unit: 'Count', Value: grew(x.segmentFetches, last.segmentFetches), Timestamp: now },
      { MetricName: 'IndexingJobs', Unit: 'Count', Value: x.jobs - last.jobs, Timestamp: now },
      { MetricName: 'IndexingFailures', Unit: 'Count', Value: x.failures - last.failures, Timestamp: now },
    ];
    // A period without lookups has no hit rate (not 0 %, not 100 %).
    if (lookups > 0) data.push({ MetricName: 'SegmentCacheHitRate', Unit: 'Percent', Value: (100 * hits) / lookups, Timestamp: now });
    return data;
  }
}

export interface MetricsPublisherOptions {
  readonly namespace: string;
  readonly metrics: NodeMetrics;
  /** Queued transactions and running requests on this node right now. */
  readonly pendingOperations: () => number;
  /** The node's indexing now (`sampleIndexing`); absent or undefined: no indexing metrics. */
  readonly indexing?: () => Promise<IndexingSample | undefined>;
  readonly intervalMs?: number;
  /** Overrides the CloudWatch endpoint (tests). */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  readonly onError?: (e: unknown) => void;
}

/** Publishes the node's metrics every interval; returns a function that publishes once more and stops. */
export function startMetricsPublisher(opts: MetricsPublisherOptions): { publish(): Promise<void>; stop(): Promise<void> } {
  const client = new CloudWatchClient({
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    maxAttempts: 2,
  });
  const publish = async (): Promise<void> => {
    try {
      const indexing = await opts.indexing?.();
      const data = opts.metrics.drain({ pendingOperations: opts.pendingOperations(), ...(indexing !== undefined ? { indexing } : {}) });
      await client.send(new PutMetricDataCommand({ Namespace: opts.namespace, MetricData: data }));
    } catch (e) {
      // Metrics must never take the node down; the next period tries again.
      opts.onError?.(e);
    }
  };
  const timer = setInterval(() => void publish(), opts.intervalMs ?? 60_000);
  timer.unref();
  return {
    publish,
    async stop() {
      clearInterval(timer);
      await publish();
      client.destroy();
    },
  };
}
