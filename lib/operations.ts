import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The metrics a node publishes (PutMetricData, no dimensions, into DATALITH_METRICS_NAMESPACE):
 * CloudWatch merges the data points of all nodes into one series per name. The contract between
 * the node app and this dashboard; docs/deploy.md lists it for the node's authors.
 */
export const NODE_METRICS = {
  /** Committed transactions (Count, summed). */
  transactions: { metricName: 'Transactions', statistic: 'Sum', unit: cloudwatch.Unit.COUNT },
  /** Time from receiving a transaction to its acknowledgement (Milliseconds). */
  transactionLatency: { metricName: 'TransactionLatency', statistic: 'p99', unit: cloudwatch.Unit.MILLISECONDS },
  /** Operations queued on a node: pending transactions plus running reads (Count, maximum). */
  pendingOperations: { metricName: 'PendingOperations', statistic: 'Maximum', unit: cloudwatch.Unit.COUNT },
  /** Conditional appends that lost the race (ConditionalCheckFailedException) and were retried. */
  conflicts: { metricName: 'Conflicts', statistic: 'Sum', unit: cloudwatch.Unit.COUNT },
  /** How many t a node's database values are behind the log when it catches up (Count, maximum). */
  catchUpLag: { metricName: 'CatchUpLag', statistic: 'Maximum', unit: cloudwatch.Unit.COUNT },
  /** Resident set size of the node process (Bytes, maximum). */
  memoryUsed: { metricName: 'MemoryUsed', statistic: 'Maximum', unit: cloudwatch.Unit.BYTES },
  /** How many t the durable index of a node's database is behind its value: the largest t − indexedT (Count, maximum). */
  indexingLag: { metricName: 'IndexingLag', statistic: 'Maximum', unit: cloudwatch.Unit.COUNT },
  /** Datoms logged after the durable index and held in memory, the most of any database on a node (Count, maximum). */
  tailDatoms: { metricName: 'TailDatoms', statistic: 'Maximum', unit: cloudwatch.Unit.COUNT },
  /** Lookups the event loop's segment cache answered from memory, of all its lookups in the minute (Percent, average). */
  segmentCacheHitRate: { metricName: 'SegmentCacheHitRate', statistic: 'Average', unit: cloudwatch.Unit.PERCENT },
  /** Index segments fetched from the segment bucket (Count, summed). */
  segmentFetches: { metricName: 'SegmentFetches', statistic: 'Sum', unit: cloudwatch.Unit.COUNT },
  /** Indexing jobs started (Count, summed). */
  indexingJobs: { metricName: 'IndexingJobs', statistic: 'Sum', unit: cloudwatch.Unit.COUNT },
  /** Indexing jobs (and moves onto another node's root) that failed; the last root stays valid (Count, summed). */
  indexingFailures: { metricName: 'IndexingFailures', statistic: 'Sum', unit: cloudwatch.Unit.COUNT },
} as const;

export interface NodeLogsProps {
  readonly logGroupName: string;
  readonly retentionDays: number;
}

/** The system's log group: every node's stdout and stderr, one stream per instance. */
export class NodeLogs extends Construct {
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeLogsProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.logGroupName,
      retention: props.retentionDays as logs.RetentionDays,
      // Logs belong to the compute: destroying it and deploying again must not collide on the name.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

export interface DatalithMonitoringProps {
  readonly systemName: string;
  readonly topology: string;
  readonly dashboardName: string;
  readonly metricsNamespace: string;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly nodeGroup: autoscaling.AutoScalingGroup;
  readonly catalogTable: dynamodb.ITableV2;
  readonly logTable: dynamodb.ITableV2;
  readonly alarmTopic?: sns.ITopic;
}

/** A dashboard of the system, and alarms on server errors, on unhealthy or missing nodes and on failing indexing. */
export class DatalithMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly unhealthyHostsAlarm: cloudwatch.Alarm;
  readonly noHealthyHostAlarm: cloudwatch.Alarm;
  readonly indexingFailuresAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DatalithMonitoringProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const alb = props.loadBalancer.metrics;
    const targets = props.targetGroup.metrics;
    const prefix = `${props.systemName}-${props.topology}`;
    const node = (m: (typeof NODE_METRICS)[keyof typeof NODE_METRICS], statistic: string = m.statistic) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: m.metricName,
        statistic,
        unit: m.unit,
        period: minute,
        label: `${m.metricName} (${statistic})`,
      });

    // 502/503/504 from the load balancer (no node answered) and 5xx from the nodes themselves.
    const serverErrors = new cloudwatch.MathExpression({
      label: '5xx responses',
      expression: 'FILL(elb, 0) + FILL(nodes, 0)',
      usingMetrics: {
        elb: alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: minute, statistic: 'Sum' }),
        nodes: alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute, statistic: 'Sum' }),
      },
      period: minute,
    });
    this.errorsAlarm = serverErrors.createAlarm(this, 'ServerErrors', {
      alarmName: `${prefix}-5xx-errors`,
      alarmDescription: `Datalith ${prefix}: at least 5 responses a minute with status 5xx, in 3 of the last 5 minutes.`,
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.unhealthyHostsAlarm = targets.unhealthyHostCount({ period: minute, statistic: 'Maximum' }).createAlarm(this, 'UnhealthyHosts', {
      alarmName: `${prefix}-unhealthy-nodes`,
      alarmDescription: `Datalith ${prefix}: a node has failed its /health check for 3 minutes.`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.noHealthyHostAlarm = targets.healthyHostCount({ period: minute, statistic: 'Minimum' }).createAlarm(this, 'NoHealthyHost', {
      alarmName: `${prefix}-no-healthy-node`,
      alarmDescription: `Datalith ${prefix}: no node has passed its /health check for 2 minutes; the endpoint is down.`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // A failed job backs off (up to 30 s) and the next starts over while the tail keeps growing:
    // failures every minute for 5 minutes is indexing that does not recover (docs/indexing.md).
    this.indexingFailuresAlarm = node(NODE_METRICS.indexingFailures).createAlarm(this, 'IndexingFailures', {
      alarmName: `${prefix}-indexing-failing`,
      alarmDescription: `Datalith ${prefix}: indexing jobs have failed in each of the last 5 minutes; the tail grows until transactions get busy (db.error/indexing-behind).`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [this.errorsAlarm, this.unhealthyHostsAlarm, this.noHealthyHostAlarm, this.indexingFailuresAlarm];
    if (props.alarmTopic) {
      const notify = new actions.SnsAction(props.alarmTopic);
      for (const alarm of alarms) {
        alarm.addAlarmAction(notify);
        alarm.addOkAction(notify);
      }
    }

    const groupMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/AutoScaling',
        metricName,
        dimensionsMap: { AutoScalingGroupName: props.nodeGroup.autoScalingGroupName },
        statistic: 'Average',
        period: minute,
      });
    const table = (t: dynamodb.ITableV2, label: string) => [
      t.metricConsumedReadCapacityUnits({ period: minute, label: `${label} read units` }),
      t.metricConsumedWriteCapacityUnits({ period: minute, label: `${label} write units` }),
    ];
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms,
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      graph('Requests', [alb.requestCount({ period: minute, statistic: 'Sum' })]),
      graph('Errors', [
        serverErrors,
        alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { period: minute, statistic: 'Sum', label: '4xx responses' }),
      ]),
      graph('Response time (s)', [
        targets.targetResponseTime({ period: minute, statistic: 'p50', label: 'p50' }),
        targets.targetResponseTime({ period: minute, statistic: 'p99', label: 'p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Nodes', [
        targets.healthyHostCount({ period: minute, statistic: 'Minimum', label: 'healthy' }),
        targets.unhealthyHostCount({ period: minute, statistic: 'Maximum', label: 'unhealthy' }),
        groupMetric('GroupInServiceInstances'),
        groupMetric('GroupDesiredCapacity'),
      ]),
      graph('Transactions', [node(NODE_METRICS.transactions)], [node(NODE_METRICS.conflicts)]),
      graph('Transaction latency (ms)', [node(NODE_METRICS.transactionLatency, 'p50'), node(NODE_METRICS.transactionLatency, 'p99')]),
    );
    this.dashboard.addWidgets(
      graph('Pending operations', [node(NODE_METRICS.pendingOperations)]),
      graph('Catch-up lag (t)', [node(NODE_METRICS.catchUpLag)]),
      graph('Node memory (bytes)', [node(NODE_METRICS.memoryUsed)]),
    );
    this.dashboard.addWidgets(
      graph('Indexing lag (t) and tail (datoms)', [node(NODE_METRICS.indexingLag)], [node(NODE_METRICS.tailDatoms)]),
      graph('Indexing jobs and failures', [node(NODE_METRICS.indexingJobs)], [node(NODE_METRICS.indexingFailures)]),
      graph('Segment cache', [node(NODE_METRICS.segmentCacheHitRate)], [node(NODE_METRICS.segmentFetches)]),
    );
    this.dashboard.addWidgets(
      graph('DynamoDB capacity', [...table(props.logTable, 'log'), ...table(props.catalogTable, 'catalog')]),
      graph('DynamoDB latency (ms)', [
        props.logTable.metricSuccessfulRequestLatency({ period: minute, dimensionsMap: { TableName: props.logTable.tableName, Operation: 'PutItem' }, label: 'log PutItem' }),
        props.logTable.metricSuccessfulRequestLatency({ period: minute, dimensionsMap: { TableName: props.logTable.tableName, Operation: 'Query' }, label: 'log Query' }),
      ]),
      graph('DynamoDB conditional failures and throttles', [
        props.logTable.metric('ConditionalCheckFailedRequests', { period: minute, statistic: 'Sum', label: 'log conditional failures' }),
        props.logTable.metric('ThrottledRequests', { period: minute, statistic: 'Sum', label: 'log throttled' }),
        props.catalogTable.metric('ThrottledRequests', { period: minute, statistic: 'Sum', label: 'catalog throttled' }),
      ]),
    );
  }
}
