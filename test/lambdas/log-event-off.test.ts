import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryPollLease } from '../../bench/support/memory-ports';
import { intakeHandler } from '../../lambdas/intake/intake-handler';
import { pollerHandler } from '../../lambdas/poller/poller-handler';
import { redelivererHandler } from '../../lambdas/redeliverer/redeliverer-handler';
import { lambdaContext } from '../../local/lambda-context';
import { realExampleEvent } from '../support/genesys-events';
import { fakeDeps, retryMessage } from '../unit/redeliver-fakes';

/**
 * POWERTOOLS_LOGGER_LOG_EVENT=true makes Powertools log each invocation's whole event: for the redeliverer, SQS
 * bodies with credential headers (FORWARD_CREDENTIAL_HEADERS) and contact-centre data. Every handler turns it off.
 */
const MARKER = 'Bearer marker-3e1f9c';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** What `run` writes to the process's streams, where Powertools' logger writes. */
async function captured(run: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof s.write;
  }
  try {
    await run();
  } finally {
    for (const [i, s] of streams.entries()) Object.assign(s, { write: originals[i] });
  }
  return chunks.join('');
}

function loggerWithEventLogging(): Logger {
  vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
  vi.stubEnv('POWERTOOLS_DEV', '');
  return new Logger({ serviceName: 'log-event-test', logLevel: 'INFO' });
}

describe('POWERTOOLS_LOGGER_LOG_EVENT=true', () => {
  it('is in force for a logger built here (the control): it logs the event', async () => {
    const logger = loggerWithEventLogging();
    const out = await captured(async () => logger.logEventIfEnabled({ headers: { Authorization: MARKER } }));
    expect(out).toContain(MARKER);
  });

  it('does not make the redeliverer log its SQS event', async () => {
    const logger = loggerWithEventLogging();
    const { deps } = fakeDeps();
    const handler = redelivererHandler({ ...deps, logger });
    const body = JSON.stringify(retryMessage({ headers: { Authorization: MARKER } }));
    const event = {
      Records: [
        { messageId: 'm-1', receiptHandle: 'rh', body, attributes: { ApproximateReceiveCount: '1' } },
      ],
    } as unknown as SQSEvent;
    const out = await captured(() => handler(event, lambdaContext('redeliverer', 25)));
    expect(out).toContain('redelivery'); // it did log, at INFO
    expect(out).not.toContain(MARKER);
  });

  it('does not make the intake or the poller log their events', async () => {
    const logger = loggerWithEventLogging();
    const { deps } = fakeDeps();
    const intake = intakeHandler({
      queue: deps.queue,
      ledger: deps.ledger,
      settings: { FORWARD_CREDENTIAL_HEADERS: false },
      logger,
    });
    const event = {
      ...realExampleEvent,
      detail: { ...realExampleEvent.detail, eventBody: { note: MARKER } },
    };
    const intakeOut = await captured(() => intake({ route: null, event }, lambdaContext('intake', 30)));
    expect(intakeOut).toContain('EventBridge event');
    expect(intakeOut).not.toContain(MARKER);

    const poller = pollerHandler({
      source: {
        failedDeliveries: async function* () {},
        readPage: async () => {
          throw new Error('no delivery log here');
        },
      },
      queue: deps.queue,
      ledger: deps.ledger,
      lease: new MemoryPollLease(),
      settings: { ...deps.settings, WEBHOOK_ID: [] } as never,
      logger,
    });
    const pollerOut = await captured(() =>
      poller({ note: MARKER }, lambdaContext('poller', 60)).catch(() => undefined),
    );
    expect(pollerOut).not.toContain(MARKER);
  });
});
