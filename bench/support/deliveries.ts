import { DEFAULT_POLL_OVERLAP_SECONDS } from '../../lambdas/shared/settings';
import type { EmulatedDelivery } from '../../local/genesys-emulator';

/** A conversation-end notification of about 1 KB, the size of a typical Genesys Cloud webhook payload. */
function payload(i: number): Record<string, unknown> {
  return {
    topicName: 'v2.detail.events.conversation.customer.end',
    version: '2',
    eventBody: {
      eventTime: 1_795_000_000_000 + i,
      conversationId: `c0ffee00-0000-4000-8000-${String(i).padStart(12, '0')}`,
      participantId: `9a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`,
      sessionId: `5e55e55e-0000-4000-8000-${String(i).padStart(12, '0')}`,
      mediaType: 'VOICE',
      provider: 'Edge',
      direction: 'INBOUND',
      ani: 'tel:+15555550100',
      dnis: 'tel:+15555550199',
      addressTo: 'tel:+15555550199',
      addressFrom: 'tel:+15555550100',
      callbackUserName: '',
      callbackNumbers: [],
      callbackScheduledTime: null,
      subject: '',
      messageType: 'UNKNOWN',
      queueId: 'b0a1c2d3-0000-4000-8000-000000000001',
      divisionId: 'd1d1d1d1-0000-4000-8000-000000000001',
      disconnectType: 'CLIENT',
      interactingDurationMs: 183_000 + (i % 1000),
      acwDurationMs: 30_000,
      notes: 'Customer asked about an invoice; resolved on the call, no follow-up needed.',
    },
    metadata: { CorrelationId: `corr-${i}` },
  };
}

export interface DeliveryPlan {
  readonly count: number;
  readonly webhookId: string;
  /** Where delivery `i` was (and will again be) sent. */
  readonly urlFor: (i: number) => string;
  /** The clock the emulator uses. */
  readonly now: number;
}

/**
 * Failed deliveries for the Genesys emulator, spread over the last 52 to 8 minutes: inside the first poll's
 * one-hour lookback, and older than the poll overlap (POLL_OVERLAP_SECONDS, 420 s by default) with a minute to
 * spare, so that a second poll lists none of them again. (At 6 minutes, as before the overlap grew from 300 s,
 * the newest minute was re-listed by every "idle" poll: 2 or 3 pages where a poll with nothing new reads 1.)
 */
export function failedDeliveries(plan: DeliveryPlan): EmulatedDelivery[] {
  const newest = plan.now - (DEFAULT_POLL_OVERLAP_SECONDS + 60) * 1000;
  const span = 44 * 60_000;
  return Array.from({ length: plan.count }, (_, i) => ({
    id: `bench-${plan.webhookId}-${i}`,
    webhookId: plan.webhookId,
    status: 'failed',
    httpStatusCode: 503,
    errorMessage: 'Target answered 503 Service Unavailable',
    body: payload(i),
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'Genesys-Webhooks/1.0',
      'X-Event-Index': String(i),
    },
    webhookUrl: plan.urlFor(i),
    dateCreated: new Date(newest - Math.floor((span * i) / Math.max(1, plan.count))).toISOString(),
  }));
}
