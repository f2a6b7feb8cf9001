import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { POLLER_SERVICE_NAME } from './poller-function';
import { metricsNamespace } from './recovery-function';
import { REDELIVERER_SERVICE_NAME } from './redeliverer-function';

/** Properties of {@link RecoveryAlarms}. */
export interface RecoveryAlarmsProps {
  readonly retryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** @default - no poller alarms (a stack with the EventBridge source alone) */
  readonly failedPollsQueue?: sqs.IQueue;
  /** @default - no poller alarms (a stack with the EventBridge source alone) */
  readonly poller?: lambda.IFunction;
  readonly redeliverer: lambda.IFunction;
  /** Window in which at least one poll must run, else the missed-polls alarm fires. */
  readonly missedPollPeriod: Duration;
  /** Oldest retry-queue message age above which the redeliverer is considered stuck. */
  readonly retryQueueAgeThreshold: Duration;
  /**
   * How far a webhook's watermark may stay behind now (the poller's WatermarkLagSeconds) before the lag alarm
   * fires: a few poll intervals. @default - 3 minutes
   */
  readonly watermarkLagThreshold?: Duration;
  /** Oldest DLQ message age above which dead-lettered deliveries are at risk of expiring unattended. */
  readonly dlqAgeThreshold: Duration;
  /** How long a target may be held back (backpressure or outage) before someone is told. */
  readonly targetHeldThreshold: Duration;
  /**
   * E-mail address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Prefix of the physical names (queue, alarm and secret names); unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The poller's metric of how far the furthest-behind webhook's watermark is from now (poller-handler.ts). */
export const WATERMARK_LAG_METRIC = 'WatermarkLagSeconds';

/**
 * The alarms by the names the docs use. Each is deployed as `<stack name>-<name>`, so the names in the console,
 * in notifications and in the docs agree, and the SNS topic policy can admit exactly this stack's alarms.
 */
export const ALARM_NAMES = [
  'DeadLetterQueueNotEmpty',
  'DeadLetterQueueMessageAging',
  'RetryQueueMessageAging',
  'PollerErrors',
  'PollerMissedPolls',
  'PollerInvocationsFailed',
  'InvalidDeliveryLogEntries',
  'RedelivererErrors',
  'TargetHeldBack',
  'PollerWatermarkLag',
] as const;

/** One of {@link ALARM_NAMES}. */
export type AlarmName = (typeof ALARM_NAMES)[number];

/** The deployed name of an alarm: the stack name, a hyphen, the documented name. */
export function deployedAlarmName(stackName: string, name: string): string {
  return `${stackName}-${name}`;
}

/**
 * The pipeline's alarms, all notifying one SNS topic (on alarm and on return to OK): a message in the DLQ, the
 * DLQ's oldest message, the retry queue's oldest message, poller errors, missed polls, failed poll invocations
 * redeliverer errors, and delivery-log entries that could not be enqueued.
 */
export class RecoveryAlarms extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: RecoveryAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? stack.stackName;
    const namespace = metricsNamespace(prefix);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Genesys webhook recovery alarms',
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, which is what lets CloudWatch publish; with only the TLS Deny
    // that enforceSSL adds, every alarm notification would be refused. Admit CloudWatch for this account's alarms
    // of this stack only (the confused-deputy conditions AWS recommends).
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        effect: iam.Effect.ALLOW,
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: deployedAlarmName(prefix, '*'),
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.alarmEmail) {
      const subscription = new sns.Subscription(this, 'EmailSubscription', {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alarmEmail,
      });
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An e-mail subscription: SNS retries delivery itself, and the alarm state stays visible in CloudWatch and on the dashboard. A DLQ of undelivered notifications would need its own alarm, notifying this same topic.',
      });
    }

    const { poller, failedPollsQueue } = props;
    const pollErrors = (poller: lambda.IFunction) =>
      new cloudwatch.MathExpression({
        label: 'Poller errors',
        expression: 'FILL(errors, 0) + FILL(pollErrors, 0)',
        usingMetrics: {
          errors: poller.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
          pollErrors: new cloudwatch.Metric({
            namespace,
            metricName: 'PollErrors',
            dimensionsMap: { service: POLLER_SERVICE_NAME },
            statistic: 'Sum',
          }),
        },
        period: FIVE_MINUTES,
      });

    type Definition = [
      AlarmName,
      string,
      cloudwatch.Metric | cloudwatch.MathExpression,
      Partial<cloudwatch.CreateAlarmOptions>,
    ];
    // Visible + in flight: viewing a dead letter in the console (or reading it with the CLI) receives it and hides
    // it for a while; counting only visible messages would let the alarm return to OK while the letter is still there.
    const deadLetters = new cloudwatch.MathExpression({
      label: 'Messages in the DLQ (visible + in flight)',
      expression: 'FILL(visible, 0) + FILL(inFlight, 0)',
      usingMetrics: {
        visible: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: FIVE_MINUTES,
          statistic: 'Maximum',
        }),
        inFlight: props.deadLetterQueue.metricApproximateNumberOfMessagesNotVisible({
          period: FIVE_MINUTES,
          statistic: 'Maximum',
        }),
      },
      period: FIVE_MINUTES,
    });

    const definitions: readonly Definition[] = [
      [
        'DeadLetterQueueNotEmpty',
        'A delivery was given up after all retries and is in the DLQ (visible or being viewed). Inspect it in the SQS console, fix the target, then "Start DLQ redrive".',
        deadLetters,
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      ],
      [
        'DeadLetterQueueMessageAging',
        `A dead-lettered delivery has waited more than ${props.dlqAgeThreshold.toHumanString()}; it is deleted 14 days after it was first enqueued. Redrive or archive it. (SQS leaves a message received 3 or more times, e.g. by console polling, out of this age.)`,
        props.deadLetterQueue.metricApproximateAgeOfOldestMessage({
          period: FIVE_MINUTES,
          statistic: 'Maximum',
        }),
        { threshold: props.dlqAgeThreshold.toSeconds() },
      ],
      [
        'RetryQueueMessageAging',
        `A message has been in the retry queue longer than its whole retry budget (${props.retryQueueAgeThreshold.toHumanString()}): the redeliverer is not consuming. Check its errors, throttles and event source mapping.`,
        props.retryQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        { threshold: props.retryQueueAgeThreshold.toSeconds() },
      ],
      // The delivery-log source: absent from a stack with the EventBridge source alone.
      ...(poller && failedPollsQueue
        ? ([
            [
              'PollerErrors',
              'Polls of the Genesys Cloud delivery log have failed for 15 minutes: check the poller logs (credentials, region, webhook ids, Genesys status).',
              pollErrors(poller),
              { threshold: 1, evaluationPeriods: 3, datapointsToAlarm: 3 },
            ],
            [
              'PollerMissedPolls',
              `No poll ran in ${props.missedPollPeriod.toHumanString()}: check the schedule is enabled and the poller is not throttled.`,
              poller.metricInvocations({ period: props.missedPollPeriod, statistic: 'Sum' }),
              {
                threshold: 1,
                comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                // No data means no invocation: that is exactly what this alarm is for.
                treatMissingData: cloudwatch.TreatMissingData.BREACHING,
              },
            ],
            [
              'PollerInvocationsFailed',
              'A poll failed after retries or could not be started; it is kept in the failed-polls queue. The next poll covers the same window.',
              failedPollsQueue.metricNumberOfMessagesSent({ period: FIVE_MINUTES, statistic: 'Sum' }),
              {
                threshold: 1,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              },
            ],
            [
              'InvalidDeliveryLogEntries',
              'The poller found delivery-log entries it could not enqueue (no or refused URL, over the SQS size limit, bad fields). Each is recorded in the ledger as invalid#<webhookId>#<deliveryId> with its reason: read it and decide.',
              new cloudwatch.Metric({
                namespace,
                metricName: 'InvalidEntries',
                dimensionsMap: { service: POLLER_SERVICE_NAME },
                statistic: 'Sum',
                period: FIVE_MINUTES,
              }),
              {},
            ],
          ] satisfies Definition[])
        : []),
      [
        'TargetHeldBack',
        `A target has been held back for more than ${props.targetHeldThreshold.toHumanString()} (it answers 429, stalls or is down): its events wait, spending no retries, until it answers or MAX_HOLD_SECONDS passes. The dashboard's "Held targets" widget and the redeliverer's log lines with result "held" name it.`,
        new cloudwatch.Metric({
          namespace,
          metricName: 'LongestHoldSeconds',
          dimensionsMap: { service: REDELIVERER_SERVICE_NAME },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
        { threshold: props.targetHeldThreshold.toSeconds() },
      ],
      [
        'RedelivererErrors',
        'The redeliverer crashed or timed out, or held events back without calling their targets because of a failure of its own (RedeliveriesNotSent: the signing secret could not be read; no retry budget is spent, the events wait and go again). Not a target refusing a delivery: check its logs.',
        new cloudwatch.MathExpression({
          label: 'Redeliverer errors and redeliveries not sent',
          expression: 'FILL(errors, 0) + FILL(notSent, 0)',
          usingMetrics: {
            errors: props.redeliverer.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
            notSent: new cloudwatch.Metric({
              namespace,
              metricName: 'RedeliveriesNotSent',
              dimensionsMap: { service: REDELIVERER_SERVICE_NAME },
              statistic: 'Sum',
            }),
          },
          period: FIVE_MINUTES,
        }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      ],
    ];

    const action = new actions.SnsAction(this.topic);
    const alarms = definitions.map(([name, description, metric, options]) => {
      const alarm = metric.createAlarm(this, name, {
        alarmName: deployedAlarmName(prefix, name),
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Idle queues and functions publish no data; silence is normal except for missed polls.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    });

    // Catch-up (issue 10): every poll of a caught-up poller ends within seconds of now; a watermark that
    // stays further behind for 10 minutes is a backlog the poller is not getting through, or a wedge.
    const lagAlarms: cloudwatch.Alarm[] = [];
    if (poller) {
      const lagThreshold = props.watermarkLagThreshold ?? Duration.minutes(3);
      const lag = new cloudwatch.Metric({
        namespace,
        metricName: WATERMARK_LAG_METRIC,
        dimensionsMap: { service: POLLER_SERVICE_NAME },
        statistic: 'Minimum',
        period: FIVE_MINUTES,
      }).createAlarm(this, 'PollerWatermarkLag', {
        alarmName: deployedAlarmName(prefix, 'PollerWatermarkLag'),
        alarmDescription: `A webhook's delivery log has been read up to more than ${lagThreshold.toHumanString()} ago for 10 minutes: a backlog after an outage the poller is still working through, or a poller that cannot move its watermark. Check the dashboard's lag per webhook, the poller logs and the PollerErrors alarm.`,
        threshold: lagThreshold.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        // No poll, no data: the missed-polls alarm covers that.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      lag.addAlarmAction(action);
      lag.addOkAction(action);
      lagAlarms.push(lag);
    }
    this.alarms = [...alarms, ...lagAlarms];
  }
}
