import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { POLLER_SERVICE_NAME } from './poller-function';
import { WATERMARK_LAG_METRIC } from './recovery-alarms';
import { metricsNamespace } from './recovery-function';
import { REDELIVERER_SERVICE_NAME } from './redeliverer-function';

/** Properties of {@link RecoveryDashboard}. */
export interface RecoveryDashboardProps {
  readonly retryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** @default - no poller widget (a stack with the EventBridge source alone) */
  readonly poller?: lambda.IFunction;
  readonly redeliverer: lambda.IFunction;
  /** Alarms shown as a status row at the top. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * Dashboard name.
   * @default - the stack name
   */
  readonly dashboardName?: string;
  /**
   * Prefix of the physical names; the custom metrics are read from its namespace (metricsNamespace).
   * @default - the stack name
   */
  readonly namePrefix?: string;
}

const PERIOD = Duration.minutes(5);

function customMetric(
  namespace: string,
  service: string,
  metricName: string,
  label: string,
): cloudwatch.Metric {
  // Powertools Metrics adds the `service` dimension (POWERTOOLS_SERVICE_NAME) to every metric it emits.
  return new cloudwatch.Metric({
    namespace,
    metricName,
    dimensionsMap: { service },
    statistic: 'Sum',
    period: PERIOD,
    label,
  });
}

/**
 * A CloudWatch dashboard of the pipeline over time: failed deliveries found, enqueued, delivered, retried and
 * dead-lettered, with the queues' depth and age and the functions' health below.
 */
export class RecoveryDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RecoveryDashboardProps) {
    super(scope, id);
    const namespace = metricsNamespace(props.namePrefix ?? Stack.of(this).stackName);
    const custom = (service: string, metricName: string, label: string) =>
      customMetric(namespace, service, metricName, label);
    const found = custom(POLLER_SERVICE_NAME, 'FailedDeliveriesFound', 'Found');
    const enqueued = custom(POLLER_SERVICE_NAME, 'Enqueued', 'Enqueued');
    const delivered = custom(REDELIVERER_SERVICE_NAME, 'Delivered', 'Delivered');
    const retried = custom(REDELIVERER_SERVICE_NAME, 'Retried', 'Retried');
    const deadLettered = new cloudwatch.MathExpression({
      label: 'Dead-lettered (permanent + retries exhausted)',
      expression: 'FILL(permanent, 0) + FILL(exhausted, 0)',
      usingMetrics: {
        permanent: custom(REDELIVERER_SERVICE_NAME, 'PermanentFailures', 'Permanent failures'),
        exhausted: custom(REDELIVERER_SERVICE_NAME, 'RetriesExhausted', 'Retries exhausted'),
      },
      period: PERIOD,
    });
    const inDlq = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: PERIOD,
      statistic: 'Maximum',
      label: 'Messages in the DLQ',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [...props.alarms],
            width: 24,
            height: 3,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Failed deliveries: found, enqueued, delivered, retried, dead-lettered',
            left: [found, enqueued, delivered, retried, deadLettered],
            width: 16,
            height: 8,
          }),
          new cloudwatch.GraphWidget({ title: 'Dead-letter queue', left: [inDlq], width: 8, height: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Held targets: how long each has been held back (s)',
            left: [
              new cloudwatch.MathExpression({
                // One line per held target (the redeliverer's Target dimension: "rate|outage <origin>" or "path <target id>").
                expression: `SEARCH('{"${namespace}",Target,service} MetricName="TargetHeldSeconds"', 'Maximum', ${PERIOD.toSeconds()})`,
                label: '',
                period: PERIOD,
              }),
            ],
            width: 24,
            height: 5,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Delivery log read up to: watermark lag (s), and pages read',
            left: [
              new cloudwatch.Metric({
                namespace,
                metricName: WATERMARK_LAG_METRIC,
                dimensionsMap: { service: POLLER_SERVICE_NAME },
                statistic: 'Maximum',
                period: PERIOD,
                label: 'Watermark lag, furthest-behind webhook (s)',
              }),
            ],
            right: [custom(POLLER_SERVICE_NAME, 'DeliveryLogPages', 'Delivery-log pages read')],
            width: 24,
            height: 6,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Retry queue',
            left: [
              props.retryQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'Visible' }),
              props.retryQueue.metricApproximateNumberOfMessagesNotVisible({
                period: PERIOD,
                label: 'Waiting for a retry (in flight)',
              }),
            ],
            right: [
              props.retryQueue.metricApproximateAgeOfOldestMessage({
                period: PERIOD,
                statistic: 'Maximum',
                label: 'Oldest message age (s)',
              }),
            ],
            width: 12,
            height: 6,
          }),
          ...(props.poller
            ? [
                new cloudwatch.GraphWidget({
                  title: 'Poller',
                  left: [
                    props.poller.metricInvocations({ period: PERIOD }),
                    props.poller.metricErrors({ period: PERIOD }),
                    custom(POLLER_SERVICE_NAME, 'PollErrors', 'Poll errors'),
                    custom(POLLER_SERVICE_NAME, 'PollsSkipped', 'Polls skipped (lease held)'),
                    custom(POLLER_SERVICE_NAME, 'Duplicates', 'Duplicates'),
                    custom(POLLER_SERVICE_NAME, 'InvalidEntries', 'Invalid entries'),
                  ],
                  width: 6,
                  height: 6,
                }),
              ]
            : []),
          new cloudwatch.GraphWidget({
            title: 'Redeliverer',
            left: [
              props.redeliverer.metricInvocations({ period: PERIOD }),
              props.redeliverer.metricErrors({ period: PERIOD }),
              props.redeliverer.metricThrottles({ period: PERIOD }),
            ],
            right: [
              new cloudwatch.Metric({
                namespace,
                metricName: 'DeliveryDurationMs',
                dimensionsMap: { service: REDELIVERER_SERVICE_NAME },
                statistic: 'p90',
                period: PERIOD,
                label: 'Delivery duration p90 (ms)',
              }),
            ],
            width: 6,
            height: 6,
          }),
        ],
      ],
    });
  }
}
