import { Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConfigError } from '../lambdas/shared/errors';
import type { PipelineSettings } from '../lambdas/shared/settings';
import { EventBridgeSource } from './constructs/eventbridge-source';
import { GenesysSecret } from './constructs/genesys-secret';
import { LedgerTable } from './constructs/ledger-table';
import { OperatorPolicy } from './constructs/operator-policy';
import { PollerFunction } from './constructs/poller-function';
import { RecoveryAlarms } from './constructs/recovery-alarms';
import { RecoveryDashboard } from './constructs/recovery-dashboard';
import { metricsNamespace } from './constructs/recovery-function';
import { RedelivererFunction } from './constructs/redeliverer-function';
import { RetryQueues } from './constructs/retry-queues';
import { SigningSecret } from './constructs/signing-secret';
import { type STACK_KEYS, type StackConfig, stackConfigFromContext } from './stack-config';
import { refuseForeignSecretsWithoutKey, refuseSharedPrefix } from './synth-checks';

/** One EventBridge route: the Genesys topics whose events go to one HTTP target (the ROUTES setting's items). */
export interface GenesysRoute {
  /** 1-48 letters, digits, `-` or `_`; part of the rule name. */
  readonly name: string;
  /** Genesys topic names or templates, e.g. `v2.detail.events.conversation.{id}.customer.end`. */
  readonly topics: readonly string[];
  /** The http(s) URL the events are POSTed to. */
  readonly url: string;
  /**
   * Headers sent with every delivery of this route.
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * `per-entity`: each entity's events (the value of the first `{…}` placeholder of the topic that matched: the
   * conversation, the user) reach the target in the order of their Genesys timestamp; every topic must have a
   * placeholder. docs/sources.md says what the target sees and what it costs.
   * @default - no order
   */
  readonly order?: 'per-entity';
  /**
   * With `order`: only the latest state counts (presence, routing status). An event older than one already
   * delivered for its entity is never sent; the ledger records it as superseded (metric SupersededEvents).
   * @default false
   */
  readonly latestOnly?: boolean;
}

/**
 * Properties of {@link GenesysWebhookRecovery}. Each maps onto one setting of the CDK context (docs/construct.md
 * has the table; docs/configuration.md says what each setting means) and is validated by the same schema, so a
 * bad prop fails the synth with the same one-line message as the context key. Values are read at synth time:
 * they must be literals, not tokens (except `eventBus`).
 *
 * Give `webhookIds` and `genesysRegion` (the delivery-log source), or `routes` with one of `eventSource`,
 * `eventBusName` and `eventBus` (the EventBridge source), or both.
 */
export interface GenesysWebhookRecoveryProps {
  /**
   * The Genesys Cloud webhook ids whose failed deliveries the poller recovers (WEBHOOK_ID).
   * @default - no delivery-log poller (then `routes` and a bus are required)
   */
  readonly webhookIds?: readonly string[];
  /**
   * Your Genesys Cloud region, e.g. `eu-west-1` (GENESYS_CLOUD_REGION); required with `webhookIds`.
   * @default - none
   */
  readonly genesysRegion?: string;
  /**
   * Seconds between polls; a multiple of 60 (POLL_INTERVAL_SECONDS).
   * @default 60
   */
  readonly pollIntervalSeconds?: number;
  /**
   * Hours of delivery log the first poll reads (LOOKBACK_HOURS).
   * @default 1
   */
  readonly lookbackHours?: number;
  /**
   * Seconds each poll re-reads before the previous one's end, at least 360 (POLL_OVERLAP_SECONDS).
   * @default 420
   */
  readonly pollOverlapSeconds?: number;
  /**
   * Redelivery attempts before a delivery goes to the DLQ (MAX_RETRIES).
   * @default 3
   */
  readonly maxRetries?: number;
  /**
   * First backoff delay in seconds (RETRY_DELAY_SECONDS).
   * @default 5
   */
  readonly retryDelaySeconds?: number;
  /**
   * Longest backoff delay in seconds (MAX_RETRY_DELAY_SECONDS).
   * @default 3600
   */
  readonly maxRetryDelaySeconds?: number;
  /**
   * Seconds a target has to answer one redelivery (DELIVERY_TIMEOUT_SECONDS).
   * @default 10
   */
  readonly deliveryTimeoutSeconds?: number;
  /**
   * Messages per redeliverer invocation (BATCH_SIZE).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Concurrent redeliverer invocations at most (MAX_CONCURRENCY).
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Forward credential headers (Authorization, API keys…) of the original delivery (FORWARD_CREDENTIAL_HEADERS).
   * @default false
   */
  readonly forwardCredentialHeaders?: boolean;
  /**
   * Host names (or `*.example.com`) allowed as targets even on private addresses (TARGET_ALLOWED_HOSTS).
   * @default - none
   */
  readonly targetAllowedHosts?: readonly string[];
  /**
   * Days the ledger remembers a delivery (LEDGER_TTL_DAYS).
   * @default 30
   */
  readonly ledgerTtlDays?: number;
  /**
   * Seconds a delivery may be held back by target backpressure or an outage (MAX_HOLD_SECONDS).
   * @default 86400
   */
  readonly maxHoldSeconds?: number;
  /**
   * Allow loopback targets: local mode and tests only (TARGET_ALLOW_LOOPBACK); `true` fails the synth, since in
   * Lambda 127.0.0.1:9001 is the function's Runtime API.
   * @default false
   */
  readonly targetAllowLoopback?: boolean;
  /**
   * Allow private-network targets for any host (TARGET_ALLOW_PRIVATE).
   * @default false
   */
  readonly targetAllowPrivate?: boolean;
  /**
   * Header names treated as credentials on top of the built-in list (EXTRA_CREDENTIAL_HEADERS).
   * @default - none
   */
  readonly extraCredentialHeaders?: readonly string[];
  /**
   * EventBridge source: which Genesys topics go to which URL (ROUTES).
   * @default - no EventBridge source
   */
  readonly routes?: readonly GenesysRoute[];
  /**
   * EventBridge source: a JSON file of routes, read at synth (ROUTES_FILE).
   * @default - none
   */
  readonly routesFile?: string;
  /**
   * EventBridge source: the Genesys partner event source, `aws.partner/genesys.com/cloud/<orgId>/<suffix>`: alone,
   * to associate with a new bus; with `eventBusName` or `eventBus`, the one source whose events the rules take
   * (eventSource).
   * @default - none
   */
  readonly eventSource?: string;
  /**
   * EventBridge source: the name of an existing bus the Genesys events arrive on (eventBusName). Needs
   * `eventSource` unless the bus bears the partner source's name.
   * @default - none
   */
  readonly eventBusName?: string;
  /**
   * EventBridge source: an existing bus, e.g. one this stack creates (validated as `eventBusName`), with
   * `eventSource`: rules on it take that partner source only, from this account only.
   * @default - none
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Prefix of the physical names: queues (`<prefix>-retry`, `<prefix>-retry-dlq`), alarms, secrets, dashboard
   * (stackName). 60 characters at most; unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
  /**
   * Name of an existing Secrets Manager secret with the Genesys OAuth client credentials (secretName).
   * @default - a new secret `<namePrefix>/genesys-credentials` holding placeholders
   */
  readonly genesysSecretName?: string;
  /**
   * ARN of an existing Secrets Manager secret with the Genesys OAuth client credentials (secretArn).
   * @default - a new secret `<namePrefix>/genesys-credentials` holding placeholders
   */
  readonly genesysSecretArn?: string;
  /**
   * ARN of the customer-managed KMS key the Genesys credentials secret is encrypted with (secretKmsKeyArn): the
   * poller and the operator policy get kms:Decrypt on it. Required for a secret in another account; a secret the
   * stack creates is created under it.
   * @default - the AWS-managed key aws/secretsmanager
   */
  readonly genesysSecretKmsKeyArn?: string;
  /**
   * Sign every redelivery (Standard Webhooks) with the signing secret (signRedeliveries).
   * @default true
   */
  readonly signRedeliveries?: boolean;
  /**
   * Name of an existing signing secret (signingSecretName).
   * @default - a new secret `<namePrefix>/webhook-signing-secret` with a random key
   */
  readonly signingSecretName?: string;
  /**
   * ARN of an existing signing secret (signingSecretArn).
   * @default - a new secret `<namePrefix>/webhook-signing-secret` with a random key
   */
  readonly signingSecretArn?: string;
  /**
   * ARN of the customer-managed KMS key the signing secret is encrypted with (signingSecretKmsKeyArn): the
   * redeliverer gets kms:Decrypt on it. Required for a signing secret in another account.
   * @default - the AWS-managed key aws/secretsmanager
   */
  readonly signingSecretKmsKeyArn?: string;
  /**
   * E-mail address subscribed to the alarm topic; the recipient confirms the subscription (alarmEmail).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Reserve a concurrency of 1 for the poller (reservePollerConcurrency). Not needed for correctness: a lease in
   * the ledger already lets one poll run at a time. Needs an account concurrency quota above 100 + 1.
   * @default false
   */
  readonly reservePollerConcurrency?: boolean;
  /**
   * Reserve `maxConcurrency` for the redeliverer, so that throttling cannot spend retry budget
   * (reserveRedelivererConcurrency). Needs an account concurrency quota above 100 + the reservations; a new
   * account's quota of 10 has none to reserve, and the deploy would fail.
   * @default false
   */
  readonly reserveRedelivererConcurrency?: boolean;
  /**
   * Create the CloudWatch dashboard (dashboard). A dashboard costs US$3 a month beyond an account's first three;
   * the alarms and metrics do not need it.
   * @default true
   */
  readonly dashboard?: boolean;
}

type ContextProp = Exclude<keyof GenesysWebhookRecoveryProps, 'eventBus'>;

/**
 * Each prop and the context key it is validated as: the pipeline settings by their environment variable names,
 * the stack options by theirs. The types make the map total; a test checks it covers every context key.
 */
export const PROP_CONTEXT_KEYS: Readonly<
  Record<ContextProp, keyof PipelineSettings | (typeof STACK_KEYS)[number]>
> = {
  webhookIds: 'WEBHOOK_ID',
  genesysRegion: 'GENESYS_CLOUD_REGION',
  pollIntervalSeconds: 'POLL_INTERVAL_SECONDS',
  lookbackHours: 'LOOKBACK_HOURS',
  pollOverlapSeconds: 'POLL_OVERLAP_SECONDS',
  maxRetries: 'MAX_RETRIES',
  retryDelaySeconds: 'RETRY_DELAY_SECONDS',
  maxRetryDelaySeconds: 'MAX_RETRY_DELAY_SECONDS',
  deliveryTimeoutSeconds: 'DELIVERY_TIMEOUT_SECONDS',
  batchSize: 'BATCH_SIZE',
  maxConcurrency: 'MAX_CONCURRENCY',
  forwardCredentialHeaders: 'FORWARD_CREDENTIAL_HEADERS',
  targetAllowedHosts: 'TARGET_ALLOWED_HOSTS',
  ledgerTtlDays: 'LEDGER_TTL_DAYS',
  maxHoldSeconds: 'MAX_HOLD_SECONDS',
  targetAllowLoopback: 'TARGET_ALLOW_LOOPBACK',
  targetAllowPrivate: 'TARGET_ALLOW_PRIVATE',
  extraCredentialHeaders: 'EXTRA_CREDENTIAL_HEADERS',
  routes: 'ROUTES',
  routesFile: 'ROUTES_FILE',
  eventSource: 'eventSource',
  eventBusName: 'eventBusName',
  namePrefix: 'stackName',
  genesysSecretName: 'secretName',
  genesysSecretArn: 'secretArn',
  signRedeliveries: 'signRedeliveries',
  signingSecretName: 'signingSecretName',
  signingSecretArn: 'signingSecretArn',
  genesysSecretKmsKeyArn: 'secretKmsKeyArn',
  signingSecretKmsKeyArn: 'signingSecretKmsKeyArn',
  alarmEmail: 'alarmEmail',
  reservePollerConcurrency: 'reservePollerConcurrency',
  reserveRedelivererConcurrency: 'reserveRedelivererConcurrency',
  dashboard: 'dashboard',
};

// Stands in for a bus name that is a token (a bus created in the same app): valid, so only the other rules apply.
const TOKEN_BUS_NAME = 'event-bus-from-props';

/**
 * The props as the CDK context record `stackConfigFromContext` reads, plus the problems only props can have
 * (tokens, eventBus given with another bus). `defaultNamePrefix` is the stack name of the construct's stack.
 */
export function contextFromProps(
  props: GenesysWebhookRecoveryProps,
  defaultNamePrefix: string,
): { context: Record<string, unknown>; problems: string[] } {
  const context: Record<string, unknown> = {};
  const problems: string[] = [];
  const values: Partial<Record<ContextProp, unknown>> = {
    ...props,
    namePrefix: props.namePrefix ?? defaultNamePrefix,
  };
  for (const [prop, key] of Object.entries(PROP_CONTEXT_KEYS) as [ContextProp, string][]) {
    const value = values[prop];
    if (value === undefined) continue;
    // Settings are validated at synth; a token's value is known only at deploy time.
    if (Token.isUnresolved(typeof value === 'object' ? JSON.stringify(value) : value)) {
      problems.push(
        `  - ${prop} must be a literal value, not a token: it is validated at synth time${prop === 'namePrefix' && props.namePrefix === undefined ? ' (its default, the stack name, is a token here: give namePrefix)' : ''}`,
      );
      continue;
    }
    context[key] = value;
  }
  if (props.eventBus) {
    if (props.eventBusName !== undefined) {
      problems.push('  - eventBus and eventBusName: give one of them, not both');
    } else {
      const name = props.eventBus.eventBusName;
      context.eventBusName = Token.isUnresolved(name) ? TOKEN_BUS_NAME : name;
    }
  }
  return { context, problems };
}

/**
 * Validates props with the context's rules (stackConfigFromContext), so both fail with the same lines. Throws
 * one ConfigError naming the construct and listing every bad value, one line each.
 */
export function stackConfigFromProps(
  props: GenesysWebhookRecoveryProps,
  defaultNamePrefix: string,
  path = 'GenesysWebhookRecovery',
): StackConfig {
  const { context, problems } = contextFromProps(props, defaultNamePrefix);
  let config: StackConfig | undefined;
  try {
    config = stackConfigFromContext(context);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.message.split('\n').slice(1));
  }
  if (problems.length > 0 || !config) {
    throw new ConfigError(
      `Invalid GenesysWebhookRecovery props at ${path} (each line names the setting; docs/construct.md maps props to settings):\n${problems.join('\n')}`,
    );
  }
  if (props.eventBus && config.eventBus) {
    const { eventSource } = config.eventBus;
    return { ...config, eventBus: { kind: 'bus', eventBus: props.eventBus, eventSource } };
  }
  return config;
}

/** Marks props that carry a configuration already validated from context (the stack's path). */
const VALIDATED = Symbol('validated StackConfig');
type InternalProps = GenesysWebhookRecoveryProps & { readonly [VALIDATED]?: StackConfig };

/**
 * Recovers failed Genesys Cloud webhook deliveries: a scheduled poller reads the delivery log (and/or an
 * EventBridge intake takes Genesys events) and fills the retry queue, the redeliverer re-POSTs with backoff, and
 * SQS moves what still fails to the dead-letter queue. With alarms on an SNS topic, a dashboard, and a DynamoDB
 * ledger that makes each delivery go out once.
 *
 * Secure by default: encrypted queues and table, HTTPS-only queue and topic policies, least-privilege roles,
 * signed redeliveries, private and loopback targets refused, credential headers not forwarded.
 *
 * @example
 * new GenesysWebhookRecovery(this, 'Recovery', { webhookIds: ['abc123'], genesysRegion: 'eu-west-1' });
 */
export class GenesysWebhookRecovery extends Construct {
  /** The validated configuration the resources were built from. */
  public readonly config: StackConfig;
  /** The SQS retry queue both sources fill and the redeliverer consumes. */
  public readonly retryQueue: sqs.Queue;
  /** The dead-letter queue SQS moves a delivery to after `maxRetries` failed attempts. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The DynamoDB ledger: one item per delivery, so each is enqueued and delivered once. */
  public readonly ledgerTable: dynamodb.Table;
  /** The redeliverer Lambda function. */
  public readonly redelivererFunction: lambda.Function;
  /** The poller Lambda function; undefined without `webhookIds`. */
  public readonly pollerFunction?: lambda.Function;
  /** The EventBridge Scheduler schedule that runs the poller; undefined without `webhookIds`. */
  public readonly pollerSchedule?: scheduler.Schedule;
  /** Poll invocations that failed after retries, for inspection; undefined without `webhookIds`. */
  public readonly failedPollsQueue?: sqs.Queue;
  /** The Genesys Cloud credentials secret (created or referenced); undefined without `webhookIds`. */
  public readonly genesysSecret?: secretsmanager.ISecret;
  /** The secret redeliveries are signed with; undefined when `signRedeliveries` is false. */
  public readonly signingSecret?: secretsmanager.ISecret;
  /** The bus Genesys events arrive on; undefined without the EventBridge source. */
  public readonly eventBus?: events.IEventBus;
  /** The EventBridge rules, one per route plus one for unmatched events; empty without the EventBridge source. */
  public readonly eventRules: readonly events.Rule[];
  /** The EventBridge intake Lambda function, which only routes ordered per entity need; undefined otherwise. */
  public readonly intakeFunction?: lambda.Function;
  /** Genesys events that could not reach the retry queue; undefined without the EventBridge source. */
  public readonly intakeFailuresQueue?: sqs.Queue;
  /** The SNS topic every alarm notifies, on alarm and on return to OK. */
  public readonly alarmTopic: sns.Topic;
  /** Every alarm of the pipeline (docs/operations.md says what to do for each). */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The CloudWatch dashboard; undefined with `dashboard: false`. */
  public readonly dashboard: cloudwatch.Dashboard | undefined;
  /** What the operator CLI needs on this pipeline, to attach to its users or roles (docs/operations.md). */
  public readonly operatorPolicy: iam.ManagedPolicy;

  /**
   * Builds the construct from a configuration already validated from CDK context (WebhookRecoveryStack's path);
   * its `stackName` is the name prefix.
   */
  public static fromConfig(scope: Construct, id: string, config: StackConfig): GenesysWebhookRecovery {
    const props: InternalProps = { [VALIDATED]: config };
    return new GenesysWebhookRecovery(scope, id, props);
  }

  constructor(scope: Construct, id: string, props: GenesysWebhookRecoveryProps) {
    super(scope, id);
    const config =
      (props as InternalProps)[VALIDATED] ??
      stackConfigFromProps(props, Stack.of(this).stackName, this.node.path);
    this.config = config;
    const { settings, timing, pipelineEnvironment, secret, signing } = config;
    const namePrefix = config.stackName;
    refuseForeignSecretsWithoutKey(this, config);
    refuseSharedPrefix(this, namePrefix);

    const queues = new RetryQueues(this, 'Queues', {
      maxReceiveCount: timing.maxReceiveCount,
      visibilityTimeout: timing.retryVisibilityTimeout,
      retentionPeriod: timing.retryRetention,
      dlqRetentionPeriod: timing.dlqRetention,
      namePrefix,
    });
    this.retryQueue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.ledgerTable = new LedgerTable(this, 'Ledger').table;
    const signingSecret =
      signing.kind === 'off'
        ? undefined
        : new SigningSecret(this, 'SigningSecret', {
            namePrefix,
            ...(signing.kind === 'name' ? { secretName: signing.secretName } : {}),
            ...(signing.kind === 'arn' ? { secretArn: signing.secretArn } : {}),
            ...(config.signingSecretKmsKeyArn ? { encryptionKeyArn: config.signingSecretKmsKeyArn } : {}),
          });
    this.signingSecret = signingSecret?.secret;

    let poller: PollerFunction | undefined;
    let genesysSecretGrant: { arn: string; keyArn?: string | undefined } | undefined;
    if (settings.WEBHOOK_ID.length > 0) {
      const genesysSecret = new GenesysSecret(this, 'GenesysCredentials', {
        namePrefix,
        ...(secret.kind === 'name' ? { secretName: secret.secretName } : {}),
        ...(secret.kind === 'arn' ? { secretArn: secret.secretArn } : {}),
        ...(config.secretKmsKeyArn ? { encryptionKeyArn: config.secretKmsKeyArn } : {}),
      });
      this.genesysSecret = genesysSecret.secret;
      genesysSecretGrant = { arn: genesysSecret.grantableArn, keyArn: genesysSecret.encryptionKeyArn };
      poller = new PollerFunction(this, 'Poller', {
        pipelineEnvironment,
        metricsNamespace: metricsNamespace(namePrefix),
        pollInterval: timing.pollInterval,
        timeout: timing.pollerTimeout,
        asyncEventAge: timing.pollerAsyncEventAge,
        scheduleEventAge: timing.pollerScheduleEventAge,
        retryQueue: this.retryQueue,
        ledger: this.ledgerTable,
        secret: genesysSecret.secret,
        secretId: genesysSecret.secretId,
        ...(genesysSecret.encryptionKeyArn ? { secretKeyArn: genesysSecret.encryptionKeyArn } : {}),
        reserveConcurrency: config.reservePollerConcurrency,
      });
      this.pollerFunction = poller.function;
      this.pollerSchedule = poller.schedule;
      this.failedPollsQueue = poller.failedPollsQueue;
    }
    this.redelivererFunction = new RedelivererFunction(this, 'Redeliverer', {
      pipelineEnvironment,
      metricsNamespace: metricsNamespace(namePrefix),
      timeout: timing.redelivererTimeout,
      retryQueue: this.retryQueue,
      ledger: this.ledgerTable,
      batchSize: settings.BATCH_SIZE,
      maxBatchingWindow: timing.maxBatchingWindow,
      maxConcurrency: settings.MAX_CONCURRENCY,
      reserveConcurrency: config.reserveRedelivererConcurrency,
      ...(signingSecret ? { signingSecret } : {}),
      ...(config.eventBus ? { eventSource: config.eventBus.eventSource } : {}),
    }).function;

    const alarms = new RecoveryAlarms(this, 'Alarms', {
      retryQueue: this.retryQueue,
      deadLetterQueue: this.deadLetterQueue,
      ...(poller ? { failedPollsQueue: poller.failedPollsQueue, poller: poller.function } : {}),
      redeliverer: this.redelivererFunction,
      missedPollPeriod: timing.missedPollPeriod,
      retryQueueAgeThreshold: timing.retryQueueAgeThreshold,
      watermarkLagThreshold: timing.watermarkLagThreshold,
      dlqAgeThreshold: timing.dlqAgeThreshold,
      targetHeldThreshold: timing.targetHeldThreshold,
      namePrefix,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });
    this.alarmTopic = alarms.topic;
    let eventBridge: EventBridgeSource | undefined;
    if (config.eventBus) {
      eventBridge = new EventBridgeSource(this, 'EventBridgeSource', {
        bus: config.eventBus,
        routes: settings.ROUTES,
        pipelineEnvironment,
        retryQueue: this.retryQueue,
        ledger: this.ledgerTable,
        alarmTopic: this.alarmTopic,
        namePrefix,
      });
      this.eventBus = eventBridge.eventBus;
      this.intakeFunction = eventBridge.function;
      this.intakeFailuresQueue = eventBridge.failuresQueue;
    }
    this.eventRules = eventBridge?.rules ?? [];
    this.alarms = [...alarms.alarms, ...(eventBridge?.alarms ?? [])];
    this.dashboard = config.dashboard
      ? new RecoveryDashboard(this, 'Dashboard', {
          retryQueue: this.retryQueue,
          deadLetterQueue: this.deadLetterQueue,
          ...(this.pollerFunction ? { poller: this.pollerFunction } : {}),
          redeliverer: this.redelivererFunction,
          alarms: this.alarms,
          dashboardName: namePrefix,
          namePrefix,
        }).dashboard
      : undefined;
    this.operatorPolicy = new OperatorPolicy(this, 'Operator', {
      retryQueue: this.retryQueue,
      deadLetterQueue: this.deadLetterQueue,
      ledger: this.ledgerTable,
      namePrefix,
      ...(genesysSecretGrant ? { genesysSecretArn: genesysSecretGrant.arn } : {}),
      ...(genesysSecretGrant?.keyArn ? { genesysSecretKeyArn: genesysSecretGrant.keyArn } : {}),
    }).policy;
  }
}
