import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Route } from '../../lambdas/shared/domain/routes';
import { targetId } from '../../lambdas/shared/domain/target-id';
import {
  type GenesysEventPattern,
  routeEventPattern,
  type SourceFilter,
  unmatchedEventPattern,
} from '../../lambdas/shared/domain/topic-match';
import { type EVENTBRIDGE_ALARM_NAMES, queueNames } from '../physical-names';
import { deployedAlarmName } from './recovery-alarms';
import { metricsNamespace, RecoveryFunction } from './recovery-function';
import { REDELIVERER_SERVICE_NAME } from './redeliverer-function';

/**
 * Where the Genesys events arrive: a partner event source to associate with a new bus, or an existing bus (by
 * name or as an object) with the partner source whose events it carries. The rules take that source only, and
 * events of this account only: a bus's policy may let other sources and accounts put events on it.
 */
export type GenesysEventBus =
  | { readonly kind: 'source'; readonly eventSource: string }
  | { readonly kind: 'name'; readonly eventBusName: string; readonly eventSource: string }
  | { readonly kind: 'bus'; readonly eventBus: events.IEventBus; readonly eventSource: string };

/** Properties of {@link EventBridgeSource}. */
export interface EventBridgeSourceProps {
  readonly bus: GenesysEventBus;
  /** The routes; one rule each, plus one rule for events no route takes. */
  readonly routes: readonly Route[];
  /** The pipeline settings as environment variables (the intake reads FORWARD_CREDENTIAL_HEADERS, LEDGER_TTL_DAYS). */
  readonly pipelineEnvironment: Readonly<Record<string, string>>;
  readonly retryQueue: sqs.IQueue;
  readonly ledger: dynamodb.ITable;
  /** The topic the pipeline's alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /**
   * Prefix of the physical names (queue, alarm and secret names); unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
}

/** Powertools service name of the intake; the `service` dimension of its metrics. */
export const INTAKE_SERVICE_NAME = 'genesys-eventbridge-intake';

/**
 * Hours EventBridge keeps retrying delivery to the intake (its maximum is 24), and Lambda keeps an async event
 * before it gives up (its maximum is 6): long enough to ride out a throttled or failing intake.
 */
const EVENTBRIDGE_MAX_EVENT_AGE = Duration.hours(24);
const LAMBDA_MAX_EVENT_AGE = Duration.hours(6);

/**
 * The rule target input: `{"route": <the route, or null>, "event": <the whole EventBridge event>}`, through
 * EventBridge's predefined `aws.events.event.json` variable. Angle brackets in the route's JSON are escaped, so
 * no header value can be read as a placeholder.
 */
class RouteInput extends events.RuleTargetInput {
  constructor(private readonly route: Route | null) {
    super();
  }
  bind(): events.RuleTargetInputProperties {
    const routeJson = JSON.stringify(this.route).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
    return { inputTemplate: `{"route":${routeJson},"event":<aws.events.event.json>}`, inputPathsMap: {} };
  }
}

/**
 * The partner event bus, associated with the Genesys source: the bus must bear the source's name. CDK sets Name
 * from eventSourceName (and refuses both), so the template has both set to it, as the Genesys blueprint's. Kept
 * when the stack is deleted: deleting it unlinks the Genesys integration, and a partner source left pending for
 * two weeks is deleted by AWS. A failed first create still removes it, so the retry can create it again.
 */
function partnerEventBus(scope: Construct, eventSource: string): events.EventBus {
  const bus = new events.EventBus(scope, 'PartnerEventBus', { eventSourceName: eventSource });
  bus.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
  return bus;
}

/**
 * The second source: Genesys Cloud's Amazon EventBridge integration. A partner event bus (or a bus that exists),
 * one rule per route matching `detail.topicName` with the patterns the domain matcher is compiled from, and one
 * rule for the events no route takes; every rule invokes the intake, which claims each event in the ledger and
 * puts it on the same retry queue the poller fills. Whatever fails between EventBridge and the queue (a target
 * invocation EventBridge gives up on, an intake invocation Lambda gives up on) lands in the intake-failures
 * queue, which has an alarm.
 */
export class EventBridgeSource extends Construct {
  public readonly eventBus: events.IEventBus;
  public readonly rules: readonly events.Rule[];
  /** The intake, which only ordered routes need; undefined when no route is ordered per entity. */
  public readonly function: lambda.Function | undefined;
  /** Events that could not reach the retry queue, with the error: EventBridge target DLQ and Lambda on-failure. */
  public readonly failuresQueue: sqs.Queue;
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EventBridgeSourceProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? Stack.of(this).stackName;
    if (props.routes.length === 0) throw new Error('EventBridgeSource needs at least one route');

    this.eventBus =
      props.bus.kind === 'source'
        ? partnerEventBus(this, props.bus.eventSource)
        : props.bus.kind === 'name'
          ? events.EventBus.fromEventBusName(this, 'EventBus', props.bus.eventBusName)
          : props.bus.eventBus;
    const filter: SourceFilter = { eventSource: props.bus.eventSource, account: Stack.of(this).account };

    this.failuresQueue = new sqs.Queue(this, 'IntakeFailuresQueue', {
      queueName: queueNames.eventBridgeFailures(prefix),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const isDlq =
      'This queue is itself a dead-letter queue: of the EventBridge rule targets and of the intake.';
    Validations.of(this.failuresQueue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: isDlq },
      { id: 'Serverless-SQSRedrivePolicy', reason: isDlq },
    );
    // Ordered routes register each event with its entity before it is queued, which needs a function; every other
    // rule puts the event on the retry queue itself, and the redeliverer takes it in on its first receive.
    this.function = props.routes.some((r) => r.order !== undefined)
      ? this.createIntake(props, prefix)
      : undefined;

    const rule = (ruleId: string, description: string, pattern: GenesysEventPattern, route: Route | null) =>
      new events.Rule(this, ruleId, {
        eventBus: this.eventBus,
        description,
        // The domain's pattern as is: the tests check the synthesized pattern equals it.
        eventPattern: pattern as unknown as events.EventPattern,
        targets: [this.target(props.retryQueue, route)],
      });
    this.rules = [
      ...props.routes.map((route) =>
        rule(
          `Route-${route.name}`,
          // The target by id: a rule's description is listed in the console, and a URL path may hold a token.
          `Genesys topics of route ${route.name} → ${targetId(route.url)}`.slice(0, 512),
          routeEventPattern(route, filter),
          route,
        ),
      ),
      rule(
        'Unmatched',
        'Genesys events that no route takes: counted and recorded in the ledger',
        unmatchedEventPattern(props.routes, filter),
        null,
      ),
    ];

    this.alarms = this.createAlarms(props.alarmTopic, prefix);
  }

  /** The intake of ordered routes: claims and registers each event with its entity, then queues it. */
  private createIntake(props: EventBridgeSourceProps, prefix: string): lambda.Function {
    const recovery = new RecoveryFunction(this, 'Intake', {
      handler: 'intake',
      serviceName: INTAKE_SERVICE_NAME,
      description: 'Puts Genesys Cloud events from EventBridge on the retry queue, once per route',
      timeout: Duration.seconds(30),
      memorySize: 256,
      metricsNamespace: metricsNamespace(prefix),
      environment: {
        ...props.pipelineEnvironment,
        RETRY_QUEUE_URL: props.retryQueue.queueUrl,
        LEDGER_TABLE_NAME: props.ledger.tableName,
        // The intake checks it too, and the account (its own): an event from elsewhere is refused, not taken.
        GENESYS_EVENT_SOURCE: props.bus.eventSource,
      },
    });
    const intake = recovery.function;
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.retryQueue.queueArn] }),
    );
    // Writes only: the intake claims each event without reading it first (it is nearly always new).
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
      }),
    );

    intake.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: LAMBDA_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.failuresQueue),
    });
    Validations.of(intake).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to an on-failure destination (the intake-failures queue), which keeps the error and the event; a DeadLetterConfig would keep less.',
    });

    return intake;
  }

  /**
   * Where a rule sends its events: the retry queue, with the route in the message (the redeliverer derives the
   * retry message and claims it on its first receive), or the intake for an ordered route. Either way EventBridge
   * retries for 24 hours and then keeps the event in the failures queue.
   */
  private target(retryQueue: sqs.IQueue, route: Route | null): events.IRuleTarget {
    const delivery = {
      deadLetterQueue: this.failuresQueue,
      retryAttempts: 185,
      maxEventAge: EVENTBRIDGE_MAX_EVENT_AGE,
    };
    if (route?.order !== undefined && this.function) {
      return new targets.LambdaFunction(this.function, { event: new RouteInput(route), ...delivery });
    }
    return new targets.SqsQueue(retryQueue, { message: new RouteInput(route), ...delivery });
  }

  private createAlarms(topic: sns.ITopic, prefix: string): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const custom = (metricName: string, service: string) =>
      new cloudwatch.Metric({
        namespace: metricsNamespace(prefix),
        metricName,
        dimensionsMap: { service },
        statistic: 'Sum',
        period,
      });
    // The redeliverer takes in what the rules put on the queue (the catch-all rule's events among them); the
    // intake, when there is one, refuses ordered routes' events of another source or account.
    const counted: Record<string, cloudwatch.IMetric> = {
      unmatched: custom('UnmatchedEvents', REDELIVERER_SERVICE_NAME),
      invalid: custom('InvalidEvents', REDELIVERER_SERVICE_NAME),
      ...(this.function ? { intakeInvalid: custom('InvalidEvents', INTAKE_SERVICE_NAME) } : {}),
    };
    const definitions: [(typeof EVENTBRIDGE_ALARM_NAMES)[number], string, cloudwatch.IMetric][] = [
      [
        'EventBridgeIntakeFailures',
        "A Genesys event from EventBridge could not be put on the retry queue after retries; it is kept, with the error in its message attributes, in the eventbridge-failures queue. Fix the cause (the retry queue policy, or the intake of an ordered route), then put the event in the message body on the bus again (aws events put-events). Do not redrive this queue into the retry queue: its messages are bare events, not the rules' messages.",
        this.failuresQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      ],
      [
        'EventBridgeUnmatchedEvents',
        'Genesys sent events that no route takes (or that are not of Genesys shape). Each is recorded in the ledger as invalid#eventbridge#<event id> with its topic: add a route, or remove the topic from the integration.',
        new cloudwatch.MathExpression({
          expression: Object.keys(counted)
            .map((name) => `FILL(${name}, 0)`)
            .join(' + '),
          usingMetrics: counted,
          period,
        }),
      ],
    ];
    const action = new actions.SnsAction(topic);
    return definitions.map(([name, description, metric]) => {
      const alarm = new cloudwatch.Alarm(this, name, {
        alarmName: deployedAlarmName(prefix, name),
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    });
  }
}
