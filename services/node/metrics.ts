/**
 * Node metrics for CloudWatch (the dashboard and alarms of the CDK stack, docs/deploy.md):
 * Transactions, TransactionLatency, PendingOperations, Conflicts, CatchUpLag and MemoryUsed,
 * published once a minute with PutMetricData into DATALITH_METRICS_NAMESPACE, without
 * dimensions, so CloudWatch merges the nodes' data points.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';

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

export class NodeMetrics implements TransactorObserver {
  private transactions = 0;
  private conflicts = 0;
  private lagMax = 0;
  /** Latency in whole milliseconds → how many transactions took it. */
  private latencies = new Map<number, number>();

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
  drain(pendingOperations: number, now = new Date()): MetricDatum[] {
    const data: MetricDatum[] = [
      { MetricName: 'Transactions', Unit: 'Count', Value: this.transactions, Timestamp: now },
      { MetricName: 'Conflicts', Unit: 'Count', Value: this.conflicts, Timestamp: now },
      { MetricName: 'CatchUpLag', Unit: 'Count', Value: this.lagMax, Timestamp: now },
      { MetricName: 'PendingOperations', Unit: 'Count', Value: pendingOperations, Timestamp: now },
      { MetricName: 'MemoryUsed', Unit: 'Bytes', Value: process.memoryUsage().rss, Timestamp: now },
    ];
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
}

export interface MetricsPublisherOptions {
  readonly namespace: string;
  readonly metrics: NodeMetrics;
  /** Queued transactions and running requests on this node right now. */
  readonly pendingOperations: () => number;
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
    const data = opts.metrics.drain(opts.pendingOperations());
    try {
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
