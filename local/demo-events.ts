import type { Route } from '../lambdas/shared/domain/routes';

/** The partner event source of the demo's imaginary org, in the real form. */
export const DEMO_EVENT_SOURCE = 'aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/demo';

/** The demo's routes: Genesys topics to the demo targets (healthy, flaky, gone). */
export function demoRoutes(targetsUrl: string): Route[] {
  return [
    {
      name: 'conversation-ends',
      topics: ['v2.detail.events.conversation.{id}.customer.end'],
      url: `${targetsUrl}/healthy`,
    },
    { name: 'acd', topics: ['v2.detail.events.conversation.{id}.acd.*'], url: `${targetsUrl}/flaky` },
    { name: 'audits', topics: ['v2.audits.entitytype.{id}.entityid.{id}'], url: `${targetsUrl}/gone` },
  ];
}

/** A PutEvents entry as the JSON 1.1 protocol carries it. */
interface PutEventsEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Time: number;
}

const CONVERSATION = 'c0ffee00-1234-4abc-8def-000000000001';

function entry(detailType: string, detail: Record<string, unknown>): PutEventsEntry {
  return {
    Source: DEMO_EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Time: Math.floor(Date.now() / 1000),
  };
}

/**
 * Events of the real shape (see the shared document's example): a conversation's customer.end (delivered), the
 * same event again under a new EventBridge id (not delivered twice), an acd.start (to the flaky target: retried),
 * an audit event (to the gone target: dead-lettered) and a presence event no route takes (recorded, counted).
 */
export function demoEventEntries(now: Date = new Date()): PutEventsEntry[] {
  const timestamp = now.toISOString();
  const conversation = (topic: string, eventBody: Record<string, unknown>) => ({
    topicName: `v2.detail.events.conversation.${CONVERSATION}.${topic}`,
    version: '2',
    eventBody: { conversationId: CONVERSATION, ...eventBody },
    metadata: { CorrelationId: `demo-${topic}` },
    timestamp,
  });
  const ended = conversation('customer.end', {
    participantId: 'p-1',
    disconnectType: 'PEER',
    mediaType: 'VOICE',
  });
  return [
    entry('v2.detail.events.conversation.{id}.customer.end', ended),
    entry('v2.detail.events.conversation.{id}.customer.end', ended),
    entry(
      'v2.detail.events.conversation.{id}.acd.start',
      conversation('acd.start', { queueId: 'q-support', mediaType: 'VOICE' }),
    ),
    entry('v2.audits.entitytype.{id}.entityid.{id}', {
      topicName: 'v2.audits.entitytype.UserPresence.entityid.278522be-1683-4877-8257-4164a177be89',
      version: '2',
      eventBody: { id: 'b8775049-demo', action: 'Update', entityType: 'UserPresence' },
      metadata: { CorrelationId: 'b61df0b3-9e33-444b-a455-1c92a33ef4e2-archival' },
      timestamp,
    }),
    entry('v2.users.{id}.presence', {
      topicName: 'v2.users.278522be-1683-4877-8257-4164a177be89.presence',
      version: '2',
      eventBody: { presenceDefinition: { systemPresence: 'Available' } },
      metadata: { CorrelationId: 'demo-presence' },
      timestamp,
    }),
  ];
}

/**
 * Publishes entries to a PutEvents endpoint one at a time (as Genesys sends them), over the JSON 1.1 protocol
 * that `aws events put-events` and the SDK speak. Resolves with each entry's result.
 */
export async function publishEvents(
  endpoint: string,
  entries: readonly PutEventsEntry[],
): Promise<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }[]> {
  const results = [];
  for (const e of entries) {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'AWSEvents.PutEvents',
      },
      body: JSON.stringify({ Entries: [e] }),
    });
    const out = (await response.json()) as { Entries?: { EventId?: string }[] };
    results.push(out.Entries?.[0] ?? { ErrorCode: `HTTP ${response.status}` });
  }
  return results;
}
