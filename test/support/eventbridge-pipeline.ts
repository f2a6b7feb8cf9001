import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type LocalPipeline,
  type LocalPipelineOptions,
  startLocalPipeline,
} from '../../local/local-pipeline';

/**
 * Local mode with the EventBridge source only: `routes` on loopback targets, fast retries (1 s, capped at 2 s, 2 s
 * timeout) unless `settings` says otherwise, and an SDK EventBridge client on its PutEvents endpoint.
 */
export async function startEventBridgePipeline(
  routes: readonly unknown[],
  settings: Readonly<Record<string, string>> = {},
  options: Partial<Omit<LocalPipelineOptions, 'settings' | 'eventBridgePort'>> = {},
): Promise<{ pipeline: LocalPipeline; client: EventBridgeClient; stop: () => Promise<void> }> {
  const pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      ROUTES: JSON.stringify(routes),
      TARGET_ALLOW_LOOPBACK: 'true',
      RETRY_DELAY_SECONDS: '1',
      MAX_RETRY_DELAY_SECONDS: '2',
      DELIVERY_TIMEOUT_SECONDS: '2',
      ...settings,
    }),
    credentials: { clientId: 'unused', clientSecret: 'unused' },
    waitTimeSeconds: 1,
    ...options,
    eventBridgePort: 0,
  });
  const client = new EventBridgeClient({
    region: 'us-east-1',
    endpoint: pipeline.eventBridge?.url ?? '',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    pipeline,
    client,
    stop: async () => {
      client.destroy();
      await pipeline.stop();
    },
  };
}
