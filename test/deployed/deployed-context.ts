import { GENESYS_EXAMPLE_SOURCE } from '../support/genesys-events';

/** The webhook whose delivery log the layer's poller reads. */
export const DEPLOYED_WEBHOOK = 'wh-deployed';
/** The origin the template's route names; the layer points it at a local target, as DNS would. */
export const ROUTE_ORIGIN = 'https://route-target.example';
export const DEPLOYED_EVENT_SOURCE = GENESYS_EXAMPLE_SOURCE.replace(/[^/]+$/, 'deployed-test');

/**
 * The CDK context the deployed-stack layer synthesises: both sources on (the delivery log and an EventBridge
 * partner source with one route), and retry timings short enough for a test. The least-privilege test
 * synthesises the same, so the roles it reads are the roles the layer ran.
 */
export const DEPLOYED_CONTEXT: Readonly<Record<string, string>> = {
  WEBHOOK_ID: DEPLOYED_WEBHOOK,
  eventSource: DEPLOYED_EVENT_SOURCE,
  ROUTES: JSON.stringify([
    { name: 'presence', topics: ['v2.users.{id}.presence'], url: `${ROUTE_ORIGIN}/presence` },
  ]),
  MAX_RETRIES: '4',
  RETRY_DELAY_SECONDS: '1',
  MAX_RETRY_DELAY_SECONDS: '5',
  DELIVERY_TIMEOUT_SECONDS: '2',
};
