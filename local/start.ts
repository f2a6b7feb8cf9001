import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { IntakeEvent } from '../lambdas/intake/accept-genesys-event';
import type { PollEvent } from '../lambdas/poller/poll-failed-deliveries';
import type { PollSummary } from '../lambdas/poller/poller-handler';
import type { RedeliveryOutcome } from '../lambdas/redeliverer/redeliver';
import { ConfigError } from '../lambdas/shared/errors';
import {
  type GenesysCredentials,
  localEnvironment,
  parseCredentialsFromEnv,
  parseLocalSettings,
  parsePipelineSettings,
} from '../lambdas/shared/settings';
import { DEMO_WEBHOOK_IDS, demoDeliveries } from './demo-deliveries';
import { demoEventEntries, demoRoutes, publishEvents } from './demo-events';
import { startDemoTargets } from './demo-targets';
import { loadDeliveriesFile, startGenesysEmulator } from './genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from './local-pipeline';

/**
 * `npm start`: the pipeline on this machine. With GENESYS_CLOUD_REGION unset it runs the demo: a Genesys Cloud
 * emulator with a delivery log of failures and demo targets (healthy, flaky, gone, down). `--until-settled`
 * exits once every event is delivered or dead-lettered.
 */
const started = Date.now();
const untilSettled = process.argv.includes('--until-settled');
const line = (text: string) =>
  console.log(`[+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}`);

const counts = {
  found: 0,
  enqueued: 0,
  duplicates: 0,
  invalid: 0,
  delivered: 0,
  retries: 0,
  deadLettering: 0,
  eventBridgeEnqueued: 0,
  eventBridgeDuplicates: 0,
  eventBridgeUnmatched: 0,
};
const cleanups: (() => Promise<void>)[] = [];

async function main(): Promise<void> {
  const env = { ...localEnvironment('.env') };
  const demo = !env.GENESYS_CLOUD_REGION;
  // Everything is checked before anything starts: a bad value exits non-zero with its name.
  const local = parseLocalSettings(env);
  const seeded =
    demo && local.LOCAL_DELIVERIES_FILE ? await loadDeliveriesFile(local.LOCAL_DELIVERIES_FILE) : undefined;
  if (demo) {
    const ids = seeded ? [...new Set(seeded.map((d) => d.webhookId))] : DEMO_WEBHOOK_IDS;
    env.WEBHOOK_ID ||= ids.join(',');
    if (seeded && seeded.length > 0) {
      // Look back far enough for the file's oldest entry (within the schema's 336 h), so a saved file still shows.
      const oldest = Math.min(...seeded.map((d) => Date.parse(d.dateCreated)));
      env.LOOKBACK_HOURS ||= String(Math.min(336, Math.max(1, Math.ceil((Date.now() - oldest) / 3_600_000))));
    }
    env.POLL_INTERVAL_SECONDS ||= '10';
  }
  const settings = parsePipelineSettings(env);
  let credentials: GenesysCredentials = { clientId: 'local-client-id', clientSecret: 'local-client-secret' };
  if (!demo) credentials = parseCredentialsFromEnv(env);

  // --until-settled waits for a poll after the last entry the log will list (the demo lists one late).
  let settleAfter = Date.now();
  let publishDemoEvents = false;
  if (demo) {
    const targets = await startDemoTargets({ port: local.LOCAL_DEMO_TARGETS_PORT });
    // The EventBridge source beside the delivery log, unless the operator brought routes of their own.
    if (settings.ROUTES.length === 0) {
      settings.ROUTES = demoRoutes(targets.url);
      publishDemoEvents = !seeded;
    }
    cleanups.push(() => targets.stop());
    const deliveries = seeded ?? demoDeliveries(targets.url);
    for (const d of deliveries) settleAfter = Math.max(settleAfter, Date.parse(d.listedAt ?? d.dateCreated));
    const emulator = await startGenesysEmulator({
      port: local.LOCAL_GENESYS_PORT,
      clients: [credentials],
      deliveries,
    });
    cleanups.push(() => emulator.stop());
    settings.GENESYS_CLOUD_REGION = emulator.url;
    const from = seeded ? `deliveries from ${local.LOCAL_DELIVERIES_FILE}` : 'demo deliveries';
    console.log(`Demo mode (GENESYS_CLOUD_REGION is not set), ${from}:`);
    console.log(`  Genesys Cloud emulator  ${emulator.url}  (webhooks ${settings.WEBHOOK_ID.join(', ')})`);
    console.log(`  demo targets            ${targets.url}/{healthy,flaky,gone,down}`);
  }

  const pipeline = await startLocalPipeline({
    settings,
    credentials,
    ports: { sqs: local.LOCAL_SQS_PORT, dynamoDb: local.LOCAL_DYNAMODB_PORT },
    onPollEvent: printPollEvent,
    ...(settings.ROUTES.length > 0 ? { eventBridgePort: local.LOCAL_EVENTBRIDGE_PORT } : {}),
    onIntakeEvent: printIntakeEvent,
    onOutcome: printOutcome,
    onError: (error) => line(`error: ${error instanceof Error ? error.message : String(error)}`),
  });
  cleanups.unshift(() => pipeline.stop());
  // Read before the emulators stop: what is still queued is lost with local mode's in-memory state.
  cleanups.unshift(async () => {
    const [retry, dlq] = await Promise.all([
      depth(pipeline, pipeline.aws.retryQueueUrl),
      depth(pipeline, pipeline.aws.dlqUrl),
    ]);
    queued = { retry, dlq };
  });
  printBanner(pipeline, settings.POLL_INTERVAL_SECONDS, settings.MAX_RETRIES);
  if (pipeline.eventBridge) {
    const routes = settings.ROUTES.map((r) => r.name).join(', ');
    console.log(`  EventBridge PutEvents   ${pipeline.eventBridge.url}  (routes ${routes})`);
  }
  if (publishDemoEvents && pipeline.eventBridge) {
    // As Genesys's EventBridge integration would: a few events of the real shape, one PutEvents each.
    const results = await publishEvents(pipeline.eventBridge.url, demoEventEntries());
    const refused = results.filter((r) => r.ErrorCode);
    line(
      `published ${results.length} demo Genesys events to EventBridge PutEvents (${refused.length} refused)`,
    );
  }

  let pollsAfterLastListing = 0;
  pipeline.startSchedule((summary: PollSummary) => {
    if (Date.now() > settleAfter + 1_000) pollsAfterLastListing += 1;
    for (const w of summary.webhooks) {
      const status = w.complete ? '' : `, stopped early: ${w.error?.message ?? 'unknown'}`;
      line(
        `poll ${w.webhookId}: ${w.found} found, ${w.enqueued} new, ${w.duplicates} already known, ${w.invalid} invalid${status}`,
      );
    }
  });

  let dlqDepth = 0;
  const watch = setInterval(async () => {
    const [retry, dlq] = await Promise.all([
      depth(pipeline, pipeline.aws.retryQueueUrl),
      depth(pipeline, pipeline.aws.dlqUrl),
    ]);
    if (dlq !== dlqDepth) {
      line(`DLQ ${pipeline.aws.dlqUrl} now holds ${dlq} message(s)`);
      dlqDepth = dlq;
    }
    if (untilSettled && pollsAfterLastListing >= 1 && retry === 0) void shutdown('settled', 0);
  }, 1_000);
  cleanups.unshift(async () => clearInterval(watch));
}

async function depth(pipeline: LocalPipeline, queueUrl: string): Promise<number> {
  const out = await pipeline.aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

function printBanner(pipeline: LocalPipeline, interval: number, maxRetries: number): void {
  const { aws } = pipeline;
  console.log(`  SQS endpoint            ${aws.sqsEndpoint}`);
  console.log(`  retry queue             ${aws.retryQueueUrl}`);
  console.log(`  dead letter queue       ${aws.dlqUrl}  (maxReceiveCount ${maxRetries})`);
  console.log(`  DynamoDB endpoint       ${aws.dynamoDbEndpoint}  (ledger table ${aws.tableName})`);
  console.log(
    `  inspect, e.g.           aws --endpoint-url ${aws.sqsEndpoint} --region us-east-1 sqs receive-message --queue-url ${aws.dlqUrl} --visibility-timeout 0`,
  );
  console.log(`Polling now and every ${interval} s. Ctrl-C stops and prints a summary.`);
}

function printPollEvent(event: PollEvent): void {
  if (event.kind === 'enqueued') {
    counts.enqueued += 1;
    line(
      `enqueued     ${event.message.deliveryId} (${event.message.webhookId}) → ${event.message.targetUrl}`,
    );
  } else if (event.kind === 'duplicate') {
    counts.duplicates += 1;
  } else {
    counts.invalid += 1;
    line(
      `invalid      ${event.deliveryId} (${event.webhookId}): ${event.reason} — recorded in the ledger, not enqueued`,
    );
  }
}

function printIntakeEvent(event: IntakeEvent): void {
  if (event.kind === 'enqueued') {
    counts.eventBridgeEnqueued += 1;
    line(
      `eventbridge  ${event.message.deliveryId} (route ${event.message.route}) → ${event.message.targetUrl}`,
    );
  } else if (event.kind === 'duplicate') {
    counts.eventBridgeDuplicates += 1;
    line(
      `eventbridge  ${event.deliveryId} (route ${event.route}): same content as an event already taken in, not enqueued again`,
    );
  } else if (event.kind === 'unmatched') {
    counts.eventBridgeUnmatched += 1;
    line(
      `unmatched    ${event.deliveryId}: no route takes topic ${event.topicName} — counted, recorded in the ledger`,
    );
  } else {
    counts.eventBridgeUnmatched += 1;
    line(`invalid      ${event.deliveryId} (EventBridge): ${event.reason} — recorded in the ledger`);
  }
}

function printOutcome(o: RedeliveryOutcome): void {
  const who = `${o.deliveryId ?? '?'} → ${o.targetUrl ?? '?'}`;
  const status = o.status !== undefined ? `HTTP ${o.status}` : (o.error ?? '');
  switch (o.result) {
    case 'delivered':
      counts.delivered += 1;
      line(`delivered    ${who} (${status}, attempt ${o.attempt})`);
      break;
    case 'retry-scheduled':
      counts.retries += 1;
      line(`retry        ${who} (${status}, attempt ${o.attempt}; next in ${o.nextAttemptInSeconds} s)`);
      break;
    case 'exhausted':
    case 'permanent':
    case 'invalid-message':
      counts.deadLettering += 1;
      line(
        `giving up    ${who} (${status}, attempt ${o.attempt}, ${o.result}); SQS moves it to the DLQ on its next receive`,
      );
      break;
    default:
      break;
  }
}

let stopping = false;
let queued: { retry: number; dlq: number } | undefined;
async function shutdown(why: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  line(`stopping (${why})…`);
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  console.log(
    `Summary: ${counts.enqueued} enqueued, ${counts.duplicates} already-known entries skipped (repeated attempts, poll overlap), ${counts.invalid} invalid entries recorded, ` +
      `${counts.delivered} delivered, ${counts.retries} retries scheduled, ${counts.deadLettering} given up (dead-lettered).`,
  );
  if (counts.eventBridgeEnqueued + counts.eventBridgeDuplicates + counts.eventBridgeUnmatched > 0) {
    console.log(
      `EventBridge: ${counts.eventBridgeEnqueued} enqueued, ${counts.eventBridgeDuplicates} duplicates not enqueued again, ${counts.eventBridgeUnmatched} unmatched or invalid (recorded in the ledger).`,
    );
  }
  if (queued) {
    console.log(
      `At exit: ${queued.retry} message(s) still in the retry queue, ${queued.dlq} in the DLQ (local state is in memory and is gone now).`,
    );
  }
  process.exit(code);
}

process.once('SIGINT', () => void shutdown('SIGINT', 0));
process.once('SIGTERM', () => void shutdown('SIGTERM', 0));

main().catch(async (error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('Local mode failed to start:', error instanceof Error ? error.message : error);
  stopping = true;
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  process.exit(1);
});
