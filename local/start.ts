import { randomBytes } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { IntakeEvent } from '../lambdas/intake/accept-genesys-event';
import type { PollEvent } from '../lambdas/poller/poll-failed-deliveries';
import type { PollSummary } from '../lambdas/poller/poller-handler';
import type { RedeliveryOutcome } from '../lambdas/redeliverer/redeliver';
import { deriveSettings } from '../lambdas/shared/derived-settings';
import { parseSigningSecret } from '../lambdas/shared/domain/signing-secret';
import { targetId } from '../lambdas/shared/domain/target-id';
import { signingTargetOf, targetKeys } from '../lambdas/shared/domain/target-signing-key';
import { ConfigError } from '../lambdas/shared/errors';
import { localEnvironment, readDotenv } from '../lambdas/shared/local-environment';
import {
  parseCredentialsFromEnv,
  parseLocalSettings,
  parsePipelineSettings,
  parseSigningSettings,
} from '../lambdas/shared/settings';
import { DEMO_CREDENTIALS, DEMO_WEBHOOK_IDS, demoDeliveries } from './demo-deliveries';
import { demoEventEntries, demoRoutes, publishEvents } from './demo-events';
import { startDemoTargets } from './demo-targets';
import { describePoll } from './describe-poll';
import { type EmulatedDelivery, loadDeliveriesFile, startGenesysEmulator } from './genesys-emulator';
import { rebaseDeliveries } from './genesys-emulator/emulated-delivery';
import { type LocalPipeline, startLocalPipeline } from './local-pipeline';
import {
  parseStartArgs,
  portProblems,
  START_HELP,
  type StartOptions,
  unknownDotenvNames,
} from './start-checks';

/**
 * `npm start`: the pipeline on this machine. With GENESYS_CLOUD_REGION unset it runs the demo: a Genesys Cloud
 * emulator with a delivery log of failures and demo targets (healthy, flaky, gone, down). `--until-settled`
 * exits once every event is delivered or dead-lettered.
 */
const started = Date.now();
let startOptions: StartOptions;
try {
  startOptions = parseStartArgs(process.argv.slice(2), process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
if (startOptions.help) {
  process.stdout.write(START_HELP);
  process.exit(0);
}
const untilSettled = startOptions.untilSettled;
for (const note of startOptions.notes) console.log(note);
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
  held: 0,
  eventBridgeEnqueued: 0,
  eventBridgeDuplicates: 0,
  eventBridgeUnmatched: 0,
};
/** Hold keys already announced: a held target gets one line, not one per event it holds back. */
const announcedHolds = new Set<string>();
const cleanups: (() => Promise<void>)[] = [];

/** The lookback cap of the settings schema (LOOKBACK_HOURS ≤ 336). */
const MAX_LOOKBACK_MS = 336 * 3_600_000;

/** Runs `parse`, keeping a ConfigError's lines in `problems` so that every bad setting is reported at once. */
function collect<T>(problems: string[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.message.split('\n');
    const items = lines.filter((l) => l.startsWith('  - '));
    problems.push(...(items.length > 0 ? items : [`  - ${lines.join('\n    ')}`]));
    return undefined;
  }
}

/** True when the operator set the variable (in the environment or `.env`) to something. */
const given = (env: Readonly<Record<string, string | undefined>>, name: string) =>
  (env[name] ?? '').trim() !== '';

async function main(): Promise<void> {
  const problems: string[] = [];
  const env = { ...(collect(problems, () => localEnvironment('.env')) ?? {}) };
  const demo = !given(env, 'GENESYS_CLOUD_REGION');
  // A misspelt setting in .env is named, with what it most likely meant, rather than ignored silently.
  const ignored: string[] = unknownDotenvNames(
    Object.keys(collect(problems, () => readDotenv('.env')) ?? {}),
  );
  // Everything is checked before anything starts, and every bad value is reported at once, by name.
  const local = collect(problems, () => parseLocalSettings(env));
  let seeded: EmulatedDelivery[] | undefined;
  let rebaseNote: string | undefined;
  if (demo && local?.LOCAL_DELIVERIES_FILE) {
    try {
      const loaded = rebaseDeliveries(
        await loadDeliveriesFile(local.LOCAL_DELIVERIES_FILE),
        new Date(),
        MAX_LOOKBACK_MS - 3_600_000,
      );
      seeded = loaded.deliveries;
      if (loaded.rebase) {
        const days = (loaded.rebase.shiftMs / 86_400_000).toFixed(1);
        rebaseNote = `its dates were moved ${days} days forward (newest entry ${loaded.rebase.newestWas} → 1 min ago) to fall within the 14-day lookback`;
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(`  - ${error.message.replace(/\n/g, '\n    ')}`);
    }
  }
  if (demo) {
    const ids = seeded ? [...new Set(seeded.map((d) => d.webhookId))] : [...DEMO_WEBHOOK_IDS];
    if (given(env, 'WEBHOOK_ID') && env.WEBHOOK_ID !== ids.join(',')) {
      ignored.push(`WEBHOOK_ID (the demo polls the webhooks its delivery log holds: ${ids.join(', ')})`);
    }
    env.WEBHOOK_ID = ids.join(',');
    for (const name of ['GENESYS_CLOUD_CLIENT_ID', 'GENESYS_CLOUD_CLIENT_SECRET']) {
      if (given(env, name))
        ignored.push(`${name} (the demo's emulator accepts only its own demo credentials)`);
    }
    if (seeded && seeded.length > 0) {
      // Look back far enough for the file's oldest entry (within the schema's 336 h), so a saved file still shows.
      const oldest = Math.min(...seeded.map((d) => Date.parse(d.dateCreated)));
      env.LOOKBACK_HOURS ||= String(Math.min(336, Math.max(1, Math.ceil((Date.now() - oldest) / 3_600_000))));
    }
    env.POLL_INTERVAL_SECONDS ||= '10';
  } else {
    if (!given(env, 'WEBHOOK_ID')) {
      for (const name of ['GENESYS_CLOUD_CLIENT_ID', 'GENESYS_CLOUD_CLIENT_SECRET']) {
        if (given(env, name)) {
          ignored.push(
            `${name} (only the delivery-log poller logs in to Genesys, and WEBHOOK_ID is not set)`,
          );
        }
      }
    }
    for (const [name, why] of [
      ['LOCAL_DELIVERIES_FILE', 'it seeds the demo emulator'],
      ['LOCAL_GENESYS_PORT', "the demo emulator's port"],
      ['LOCAL_DEMO_TARGETS_PORT', "the demo targets' port"],
    ] as const) {
      if (given(env, name)) ignored.push(`${name} (${why}; only used when GENESYS_CLOUD_REGION is not set)`);
    }
  }
  // Local targets (the demo's, a developer's own) listen on this machine: local mode opts in to loopback, which
  // the deployed stack refuses (in Lambda, 127.0.0.1:9001 is the Runtime API). TARGET_ALLOW_LOOPBACK=false wins.
  env.TARGET_ALLOW_LOOPBACK ||= 'true';
  const settings = collect(problems, () => parsePipelineSettings(env));
  // The EventBridge source alone (routes, no WEBHOOK_ID) never calls Genesys: it needs no credentials.
  const pollsGenesys = demo || (settings?.WEBHOOK_ID.length ?? 1) > 0;
  const credentials = demo
    ? DEMO_CREDENTIALS
    : pollsGenesys
      ? collect(problems, () => parseCredentialsFromEnv(env))
      : undefined;
  if (local && settings) {
    // Every fixed port is tried before anything starts, so every conflict is named in one run.
    problems.push(
      ...(await portProblems({
        LOCAL_SQS_PORT: local.LOCAL_SQS_PORT,
        LOCAL_DYNAMODB_PORT: local.LOCAL_DYNAMODB_PORT,
        ...(demo || settings.ROUTES.length > 0
          ? { LOCAL_EVENTBRIDGE_PORT: local.LOCAL_EVENTBRIDGE_PORT }
          : {}),
        ...(demo
          ? {
              LOCAL_GENESYS_PORT: local.LOCAL_GENESYS_PORT,
              LOCAL_DEMO_TARGETS_PORT: local.LOCAL_DEMO_TARGETS_PORT,
            }
          : {}),
      })),
    );
  }
  if (problems.length > 0 || !local || !settings || (pollsGenesys && !credentials)) {
    // One problem is shown as it is (one or two lines); several under one heading, all at once.
    throw new ConfigError(
      problems.length === 1
        ? (problems[0] ?? '').replace(/^ {2}- /, '').replace(/\n {4}/g, '\n  ')
        : `Local mode cannot start: fix these ${problems.length} settings (environment or .env):\n${problems.join('\n')}`,
    );
  }
  const signing = parseSigningSettings(env);
  if (signing.SIGNING_SECRET !== undefined) parseSigningSecret(signing.SIGNING_SECRET, 'SIGNING_SECRET');
  // A key of 32 random bytes, as the specification suggests, when .env names none.
  const signingSecret = signing.SIGN_REDELIVERIES
    ? (signing.SIGNING_SECRET ?? `whsec_${randomBytes(32).toString('base64')}`)
    : undefined;

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
      clients: [DEMO_CREDENTIALS],
      deliveries,
    });
    cleanups.push(() => emulator.stop());
    settings.GENESYS_CLOUD_REGION = emulator.url;
    const from = seeded ? `deliveries from ${local.LOCAL_DELIVERIES_FILE}` : 'demo deliveries';
    console.log(`Demo mode (GENESYS_CLOUD_REGION is not set), ${from}:`);
    if (rebaseNote) console.log(`  note                    ${rebaseNote}`);
    console.log(`  Genesys Cloud emulator  ${emulator.url}  (webhooks ${settings.WEBHOOK_ID.join(', ')})`);
    console.log(`  demo targets            ${targets.url}/{healthy,flaky,gone,down}`);
    // Lines below name a target by its id, never its path (a real one may hold a token): the key to this demo's.
    const ids = ['healthy', 'flaky', 'gone', 'down'].map(
      (p) => `${p} ~${targetId(`${targets.url}/${p}`).split('/~')[1]}`,
    );
    console.log(`                          (named by target id below: ${ids.join(', ')})`);
    demoReplay = { emulatorUrl: emulator.url, webhookId: settings.WEBHOOK_ID[0] ?? '' };
  } else if (credentials) {
    console.log(
      `Real-org mode (GENESYS_CLOUD_REGION=${settings.GENESYS_CLOUD_REGION}): polling webhooks ${settings.WEBHOOK_ID.join(', ')} as OAuth client ${credentials.clientId}; redeliveries go to the URLs in your delivery log`,
    );
  } else {
    console.log(
      `EventBridge-only mode (GENESYS_CLOUD_REGION=${settings.GENESYS_CLOUD_REGION}, no WEBHOOK_ID): no poller and no Genesys credentials; events sent to the PutEvents endpoint below go to the URLs of your routes (${settings.ROUTES.map((r) => r.name).join(', ')})`,
    );
  }
  for (const i of ignored) console.log(`  ignored                 ${i}`);

  const pipeline = await startLocalPipeline({
    settings,
    ...(credentials ? { credentials } : {}),
    ...(signingSecret !== undefined ? { signingSecret } : {}),
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
  // Printed so a local target can verify; a key from .env is the operator's and is not echoed.
  if (signingSecret === undefined) console.log('  signing                 off (SIGN_REDELIVERIES=false)');
  else if (signing.SIGNING_SECRET !== undefined) {
    console.log(
      '  signing                 Standard Webhooks, with SIGNING_SECRET from the environment or .env',
    );
    console.log(
      '                          (a target’s key: npm run -s cli -- signing-key --local --webhook ID)',
    );
  } else {
    console.log(`  signing                 Standard Webhooks, with the generated key ${signingSecret}`);
    console.log('                          (set SIGNING_SECRET in .env to keep a key across runs)');
    // Each target verifies with its own key, derived from that one (docs/signing.md).
    for (const target of signingTargets(settings)) {
      console.log(
        `                          ${target.padEnd(24)}${targetKeys(parseSigningSecret(signingSecret, 'generated'), target, {})[0]}`,
      );
    }
  }
  printBanner(pipeline, settings.POLL_INTERVAL_SECONDS, deriveSettings(settings).maxReceiveCount);
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
    for (const w of summary.webhooks) line(describePoll(w));
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

let demoReplay: { emulatorUrl: string; webhookId: string } | undefined;

function printBanner(pipeline: LocalPipeline, interval: number, maxReceiveCount: number): void {
  const { aws } = pipeline;
  const endpoints = `AWS_ENDPOINT_URL_SQS=${aws.sqsEndpoint} AWS_ENDPOINT_URL_DYNAMODB=${aws.dynamoDbEndpoint}`;
  console.log(`  SQS endpoint            ${aws.sqsEndpoint}`);
  console.log(`  retry queue             ${aws.retryQueueUrl}`);
  console.log(`  dead letter queue       ${aws.dlqUrl}  (maxReceiveCount ${maxReceiveCount})`);
  console.log(`  DynamoDB endpoint       ${aws.dynamoDbEndpoint}  (ledger table ${aws.tableName})`);
  console.log(`  CLI, in another shell   export ${endpoints}`);
  console.log('                          npx genesys-webhook-recovery dlq list');
  if (demoReplay) {
    console.log(
      `  replay from the demo    GENESYS_CLOUD_REGION=${demoReplay.emulatorUrl} GENESYS_CLOUD_CLIENT_ID=${DEMO_CREDENTIALS.clientId} GENESYS_CLOUD_CLIENT_SECRET=${DEMO_CREDENTIALS.clientSecret} npx genesys-webhook-recovery replay --webhook ${demoReplay.webhookId} --since 1h --dry-run`,
    );
  }
  // The emulators check no signatures, but the AWS CLI refuses to sign without some credentials.
  console.log(
    `  AWS CLI, e.g.           AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url ${aws.sqsEndpoint} --region us-east-1 sqs receive-message --queue-url ${aws.dlqUrl} --visibility-timeout 0`,
  );
  console.log(`Polling now and every ${interval} s. Ctrl-C stops and prints a summary.`);
}

function printPollEvent(event: PollEvent): void {
  if (event.kind === 'enqueued') {
    counts.enqueued += 1;
    line(
      `enqueued     ${event.message.deliveryId} (${event.message.webhookId}) → ${targetId(event.message.targetUrl)}`,
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
      `eventbridge  ${event.message.deliveryId} (route ${event.message.route}) → ${targetId(event.message.targetUrl)}`,
    );
  } else if (event.kind === 'duplicate') {
    // An ordered route's intake claims before it queues: a repeat is not queued at all.
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
  const who = `${o.deliveryId ?? '?'} → ${o.target ?? '?'}`;
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
        `giving up    ${who} (${status}, attempt ${o.attempt}, ${o.result}); failed fast until SQS moves it to the DLQ`,
      );
      break;
    case 'outdated':
      line(`superseded   ${who} (${o.error ?? 'a newer event of its entity was delivered'}); not sent`);
      break;
    case 'already-delivered':
    case 'superseded':
      // A rule queued a repeat of an event (the same content under a new id): its first receive stands down.
      if (o.repeat && o.webhookId?.startsWith('eventbridge:')) {
        counts.eventBridgeDuplicates += 1;
        line(
          `eventbridge  ${o.deliveryId} (route ${o.webhookId.slice('eventbridge:'.length)}): same content as an event already taken in, not delivered again`,
        );
      }
      break;
    case 'refused-event':
      line(`invalid      ${o.deliveryId} (EventBridge): ${o.error ?? ''} — recorded in the ledger`);
      break;
    case 'held':
      counts.held += 1;
      if (o.hold && !announcedHolds.has(o.hold.key)) {
        announcedHolds.add(o.hold.key);
        line(`holding back ${o.hold.key} (${o.error ?? 'held'}); its events wait without spending retries`);
      }
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
      `EventBridge: ${counts.eventBridgeEnqueued} enqueued, ${counts.eventBridgeDuplicates} duplicates not delivered again, ${counts.eventBridgeUnmatched} unmatched or invalid (recorded in the ledger).`,
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

/** A port taken after the check (by a program that started meanwhile), named by the setting that chose it. */
function portInUse(error: unknown): string | undefined {
  const e = error as { code?: unknown; port?: unknown; cause?: unknown };
  if (e?.code !== 'EADDRINUSE') return e?.cause ? portInUse(e.cause) : undefined;
  const env = localEnvironment('.env');
  const defaults: Record<string, string> = {
    LOCAL_SQS_PORT: '4566',
    LOCAL_DYNAMODB_PORT: '4567',
    LOCAL_GENESYS_PORT: '9000',
    LOCAL_EVENTBRIDGE_PORT: '4568',
    LOCAL_DEMO_TARGETS_PORT: '0',
  };
  const name =
    Object.keys(defaults).find((n) => (env[n] || defaults[n]) === String(e.port)) ??
    'the LOCAL_*_PORT settings';
  return `Local mode cannot start: port ${String(e.port)} (${name}) is in use, perhaps by another npm start or another emulator; stop it, or set ${name} to a free port (0 picks one)`;
}

main().catch(async (error: unknown) => {
  const inUse = portInUse(error);
  if (inUse) console.error(inUse);
  else if (error instanceof ConfigError) console.error(error.message);
  else console.error('Local mode failed to start:', error instanceof Error ? error.message : error);
  stopping = true;
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  process.exit(1);
});

/** The signing targets of this run: each webhook of the delivery log and each route. */
function signingTargets(settings: {
  WEBHOOK_ID: readonly string[];
  ROUTES: readonly { name: string }[];
}): string[] {
  return [
    ...settings.WEBHOOK_ID.map((id) => signingTargetOf({ webhookId: id })),
    ...settings.ROUTES.map((r) => signingTargetOf({ route: r.name, webhookId: '' })),
  ];
}
