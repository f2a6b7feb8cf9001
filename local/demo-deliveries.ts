import type { EmulatedDelivery } from './genesys-emulator';

/** The demo emulator's OAuth client: printed in the banner so that `replay` can log in to it. */
export const DEMO_CREDENTIALS = {
  clientId: 'local-client-id',
  clientSecret: 'local-client-secret',
} as const;

/** Webhook ids the demo's delivery log holds. */
export const DEMO_WEBHOOK_IDS = ['demo-orders', 'demo-calls'] as const;

/**
 * The demo's delivery log: failures to a healthy target (one event logged twice, bodies as object, JSON text
 * and plain text), to a flaky one, to one that is gone (410), to one that stays down, an entry that cannot be
 * redelivered (ftp URL), and one that Genesys lists late, after the first poll.
 */
export function demoDeliveries(targetsUrl: string, now: Date = new Date()): EmulatedDelivery[] {
  const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000).toISOString();
  const [orders, calls] = DEMO_WEBHOOK_IDS;
  const jsonHeaders = { 'Content-Type': 'application/json', 'User-Agent': 'Genesys-Webhooks' };
  const base = { status: 'failed' as const, errorMessage: 'Connection refused', httpStatusCode: null };
  const orderBody = { eventId: 'ord-1001', type: 'order.created', total: 42.5, currency: 'EUR' };
  return [
    {
      ...base,
      id: 'dlv-0001',
      webhookId: orders,
      webhookUrl: `${targetsUrl}/healthy`,
      dateCreated: at(600),
      body: orderBody,
      headers: jsonHeaders,
    },
    // The same event, logged again when Genesys retried it: redelivered once.
    {
      ...base,
      id: 'dlv-0002',
      webhookId: orders,
      webhookUrl: `${targetsUrl}/healthy`,
      dateCreated: at(540),
      body: orderBody,
      headers: jsonHeaders,
    },
    {
      ...base,
      id: 'dlv-0003',
      webhookId: orders,
      webhookUrl: `${targetsUrl}/flaky`,
      dateCreated: at(480),
      httpStatusCode: 503,
      errorMessage: 'Service Unavailable',
      body: '{"eventId":"ord-1002","type":"order.paid","amount":"19.99"}',
      headers: { 'User-Agent': 'Genesys-Webhooks', Authorization: 'Bearer demo-secret-token' },
    },
    {
      ...base,
      id: 'dlv-0004',
      webhookId: orders,
      webhookUrl: `${targetsUrl}/gone`,
      dateCreated: at(420),
      httpStatusCode: 410,
      errorMessage: 'Gone',
      body: { eventId: 'ord-1003', type: 'order.cancelled' },
      headers: jsonHeaders,
    },
    {
      ...base,
      id: 'dlv-0005',
      webhookId: calls,
      webhookUrl: `${targetsUrl}/healthy`,
      dateCreated: at(360),
      body: 'call 8812 ended after 312 s',
      headers: { 'Content-Type': 'text/plain', 'User-Agent': 'Genesys-Webhooks' },
    },
    {
      ...base,
      id: 'dlv-0006',
      webhookId: calls,
      webhookUrl: `${targetsUrl}/down`,
      dateCreated: at(300),
      httpStatusCode: 503,
      errorMessage: 'Service Unavailable',
      body: { eventId: 'call-8813', type: 'call.ended' },
      headers: jsonHeaders,
    },
    {
      ...base,
      id: 'dlv-0007',
      webhookId: calls,
      webhookUrl: 'ftp://files.example.com/hooks',
      dateCreated: at(240),
      body: { eventId: 'call-8814' },
      headers: jsonHeaders,
    },
    {
      ...base,
      id: 'dlv-0008',
      webhookId: calls,
      webhookUrl: `${targetsUrl}/healthy`,
      dateCreated: at(30),
      // Listed 15 s from now: the first poll misses it, a later one finds it through the overlap.
      listedAt: new Date(now.getTime() + 15_000).toISOString(),
      body: { eventId: 'call-8815', type: 'call.started' },
      headers: jsonHeaders,
    },
  ];
}
