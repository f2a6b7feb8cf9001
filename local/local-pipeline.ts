import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { IntakeEvent } from '../lambdas/intake/accept-genesys-event';
import { intakeHandler } from '../lambdas/intake/intake-handler';
import type { PollEvent } from '../lambdas/poller/poll-failed-deliveries';
import { type PollSummary, pollerHandler } from '../lambdas/poller/poller-handler';
import { createTargetGate, createWebhookSender } from '../lambdas/redeliverer/create-webhook-sender';
import type { RedeliveryOutcome } from '../lambdas/redeliverer/redeliver';
import { redelivererHandler } from '../lambdas/redeliverer/redeliverer-handler';
import { DynamoDbEntityOrderStore } from '../lambdas/shared/adapters/dynamodb-entity-order';
import { DynamoDbLedger } from '../lambdas/shared/adapters/dynamodb-ledger';
import { DynamoDbPollLease } from '../lambdas/shared/adapters/dynamodb-poll-lease';
import { DynamoDbTargetStateStore } from '../lambdas/shared/adapters/dynamodb-target-state';
import { GenesysDeliverySource } from '../lambdas/shared/adapters/genesys-delivery-source';
import { SigningWebhookSender } from '../lambdas/shared/adapters/signing-webhook-sender';
import { SqsRetryQueue } from '../lambdas/shared/adapters/sqs-retry-queue';
import { deriveSettings } from '../lambdas/shared/derived-settings';
import { takeEnvelope } from '../lambdas/shared/domain/event-envelope';
import { queueSafeJson } from '../lambdas/shared/domain/retry-message';
import type { Route } from '../lambdas/shared/domain/routes';
import { parseSigningSecret } from '../lambdas/shared/domain/signing-secret';
import { GENESYS_SOURCE_PREFIX, matchingRoutes } from '../lambdas/shared/domain/topic-match';
import type { FailedDeliverySource, Ledger } from '../lambdas/shared/ports';
import type { GenesysCredentials, PipelineSettings } from '../lambdas/shared/settings';
import {
  type EmulatedEvent,
  type EventBridgeEmulator,
  startEventBridgeEmulator,
} from './eventbridge-emulator';
import { lambdaContext } from './lambda-context';
import { type LocalAws, startLocalAws } from './local-aws';
import { SqsEventSource } from './sqs-event-source';

/** How the event source stand-in invokes the redeliverer. */
export type RedelivererInvoke = (
  event: SQSEvent,
  context: Context,
  /** Which redeliverer instance runs the batch (one per concurrent poller), from 0. */
  instance: number,
) => Promise<SQSBatchResponse | undefined>;

export interface LocalPipelineOptions {
  readonly settings: PipelineSettings;
  /** The Genesys OAuth client; the EventBridge source alone (no WEBHOOK_ID) needs none. */
  readonly credentials?: GenesysCredentials;
  /**
   * The signing secret's text (see parseSigningSecret): when given, every redelivery is signed with it, as the
   * redeliverer does in AWS. `npm start` passes SIGNING_SECRET or a generated key.
   * @default - redeliveries are not signed
   */
  readonly signingSecret?: string;
  /** Ports for the emulators; 0 picks a free one. */
  readonly ports?: { sqs: number; dynamoDb: number };
  /** Replaces the Genesys adapter (tests that inject faults around it). */
  readonly source?: FailedDeliverySource;
  readonly onPollEvent?: (event: PollEvent) => void;
  /**
   * Starts the local EventBridge PutEvents endpoint on this port (0 picks a free one); Genesys partner events
   * sent to it are routed with settings.ROUTES. @default - no endpoint
   */
  readonly eventBridgePort?: number;
  readonly onIntakeEvent?: (event: IntakeEvent) => void;
  readonly onOutcome?: (outcome: RedeliveryOutcome) => void;
  readonly onError?: (error: unknown) => void;
  /** Log level of the handlers' Powertools logger. @default 'ERROR' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Long-poll wait of the event source stand-in. @default 2 */
  readonly waitTimeSeconds?: number;
  /** Tests only: retry-queue visibility timeout. @default derived from the settings, as in the stack */
  readonly visibilityTimeoutSeconds?: number;
  /** Tests only: wraps the redeliverer as the event source invokes it, to inject crashes around it. */
  readonly wrapRedeliverer?: (handler: RedelivererInvoke) => RedelivererInvoke;
  /**
   * How redeliverer instances come and go. `per-poller`: one warm instance per concurrent batch, each with its own
   * memory (target gate cache, HTTP pool), as Lambda keeps instances warm. `per-invocation` (tests): a cold instance
   * for every batch, the worst case Lambda may give. Either way the gates share their holds through the table.
   * @default 'per-poller'
   */
  readonly redelivererInstances?: 'per-poller' | 'per-invocation';
  /** Tests only: wraps the ledger the handlers use, to inject faults. */
  readonly decorateLedger?: (ledger: Ledger) => Ledger;
}

export interface LocalPipeline {
  readonly aws: LocalAws;
  readonly eventSource: SqsEventSource;
  readonly ledger: DynamoDbLedger;
  /** The local PutEvents endpoint, when eventBridgePort was given. */
  readonly eventBridge?: EventBridgeEmulator;
  /** Runs the poller once, as the schedule would. */
  pollOnce(): Promise<PollSummary>;
  /** Runs the poller now and then every POLL_INTERVAL_SECONDS until stopped. */
  startSchedule(onSummary: (summary: PollSummary) => void): void;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: SQS and DynamoDB emulators, the same handler code as in Lambda, a
 * stand-in for the SQS event source and a timer in place of EventBridge Scheduler.
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { settings } = options;
  const derived = deriveSettings(settings);
  const { signingSecret } = options;
  // Checked here, so a bad SIGNING_SECRET stops local mode before anything starts.
  if (signingSecret !== undefined) parseSigningSecret(signingSecret, 'SIGNING_SECRET');
  const aws = await startLocalAws(settings, options.ports, options.visibilityTimeoutSeconds);
  const logLevel = options.logLevel ?? 'ERROR';
  const dynamoLedger = new DynamoDbLedger({
    tableName: aws.tableName,
    ttlDays: settings.LEDGER_TTL_DAYS,
    client: aws.doc,
  });
  const ledger = options.decorateLedger ? options.decorateLedger(dynamoLedger) : dynamoLedger;
  const queue = new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs });
  // With routes only (no WEBHOOK_ID) the poller has nothing to read and needs no Genesys region.
  const source =
    options.source ??
    (settings.WEBHOOK_ID.length === 0
      ? // The EventBridge source alone: the poller has nothing to read.
        {
          failedDeliveries: async function* () {},
          readPage: async () => {
            throw new Error('no delivery log: WEBHOOK_ID is empty');
          },
        }
      : new GenesysDeliverySource({
          region: settings.GENESYS_CLOUD_REGION,
          credentials: async () => {
            if (!options.credentials)
              throw new Error('WEBHOOK_ID is set but no Genesys credentials were given');
            return options.credentials;
          },
        }));
  const poll = pollerHandler({
    source,
    queue,
    ledger,
    // The same lease as in Lambda, on the emulated table: a poll that would overlap the running one skips.
    lease: new DynamoDbPollLease({ tableName: aws.tableName, client: aws.doc }),
    settings,
    logger: new Logger({ serviceName: 'genesys-webhook-poller', logLevel }),
    ...(options.onPollEvent ? { onEvent: options.onPollEvent } : {}),
  });
  const targetStates = new DynamoDbTargetStateStore({ tableName: aws.tableName, client: aws.doc });
  const orders = new DynamoDbEntityOrderStore({
    tableName: aws.tableName,
    ttlDays: settings.LEDGER_TTL_DAYS,
    client: aws.doc,
  });
  const redelivererLogger = new Logger({ serviceName: 'genesys-webhook-redeliverer', logLevel });
  /** One redeliverer instance: its own HTTP pool and gate memory, as a Lambda instance has. */
  const newInstance = () => {
    const http = createWebhookSender(settings);
    const sender =
      signingSecret === undefined
        ? http
        : new SigningWebhookSender({
            sender: http,
            secret: async () => signingSecret,
            secretSource: 'SIGNING_SECRET',
          });
    const handler = redelivererHandler({
      sender,
      gate: createTargetGate(settings, targetStates),
      queue,
      ledger,
      orders,
      settings,
      random: Math.random,
      now: () => new Date(),
      logger: redelivererLogger,
      ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
    });
    return { handler, close: () => sender.close() };
  };
  const concurrency = Math.min(settings.MAX_CONCURRENCY, 4);
  const perInvocation = options.redelivererInstances === 'per-invocation';
  const warm = perInvocation ? [] : Array.from({ length: concurrency }, newInstance);
  const invoke: RedelivererInvoke = async (event, context, instance) => {
    const running = warm[instance];
    if (running) return running.handler(event, context);
    const cold = newInstance();
    try {
      return await cold.handler(event, context);
    } finally {
      await cold.close();
    }
  };
  const eventBridge =
    options.eventBridgePort === undefined
      ? undefined
      : await startEventBridgeIntake(options.eventBridgePort, {
          queue,
          ledger,
          orders,
          settings,
          logger: new Logger({ serviceName: 'genesys-eventbridge-intake', logLevel }),
          ...(options.onIntakeEvent ? { onEvent: options.onIntakeEvent } : {}),
        }).catch(async (error: unknown) => {
          await aws.stop();
          throw error;
        });
  const eventSource = new SqsEventSource({
    sqs: aws.sqs,
    queueUrl: aws.retryQueueUrl,
    queueArn: aws.retryQueueArn,
    batchSize: settings.BATCH_SIZE,
    concurrency,
    functionTimeoutSeconds: derived.redelivererTimeoutSeconds,
    waitTimeSeconds: options.waitTimeSeconds ?? 2,
    handler: options.wrapRedeliverer ? options.wrapRedeliverer(invoke) : invoke,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  eventSource.start();

  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const pollOnce = () => poll({}, lambdaContext('poller', derived.pollerTimeoutSeconds));

  return {
    aws,
    eventSource,
    ledger: dynamoLedger,
    ...(eventBridge ? { eventBridge } : {}),
    pollOnce,
    startSchedule(onSummary) {
      const tick = () => {
        // One poll at a time, as the stack's reserved concurrency of 1 ensures.
        polling = pollOnce()
          .then(onSummary, (error: unknown) => options.onError?.(error))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, settings.POLL_INTERVAL_SECONDS * 1000);
          });
      };
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await polling.catch(() => undefined);
      await eventBridge?.stop();
      await eventSource.stop();
      await Promise.all(warm.map((w) => w.close()));
      await aws.stop();
    },
  };
}

/**
 * The local PutEvents endpoint wired as the stack's rules are: an event whose `detail.topicName` a route takes
 * (the same matcher the rule patterns are compiled from) is put on the retry queue in the rules' envelope, once
 * per route, for the redeliverer to take in; a route ordered per entity invokes the intake instead; an event no
 * route takes goes on the queue with no route (the catch-all rule). Events from other sources match no rule and
 * are accepted and dropped, as EventBridge does.
 */
function startEventBridgeIntake(
  port: number,
  deps: Parameters<typeof intakeHandler>[0] & { settings: PipelineSettings },
): Promise<EventBridgeEmulator> {
  const intake = intakeHandler(deps);
  const context = () => lambdaContext('intake', 30);
  const put = async (route: Route | null, event: EmulatedEvent) => {
    await deps.queue.requeue(queueSafeJson({ route, event }), 0);
    const taken = takeEnvelope(
      { route, event },
      { forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS, sentAt: new Date() },
    );
    if (taken.kind === 'message') deps.onEvent?.({ kind: 'enqueued', message: taken.message });
    else if (taken.kind === 'unmatched') {
      const topicName = String((event.detail as { topicName?: unknown }).topicName);
      deps.onEvent?.({ kind: 'unmatched', deliveryId: taken.deliveryId, topicName });
    }
  };
  return startEventBridgeEmulator({
    port,
    async onEvent(event) {
      if (!event.source.startsWith(GENESYS_SOURCE_PREFIX)) return;
      const detail = event.detail as { topicName?: unknown };
      const topic = typeof detail.topicName === 'string' ? detail.topicName : undefined;
      const routes = topic === undefined ? [] : matchingRoutes(deps.settings.ROUTES, topic);
      // An event without a topic matches no rule in AWS; here the intake records it as invalid.
      if (topic === undefined) await intake({ route: null, event }, context());
      else if (routes.length === 0) await put(null, event);
      for (const route of routes) {
        if (route.order !== undefined) await intake({ route, event }, context());
        else await put(route, event);
      }
    },
  });
}
