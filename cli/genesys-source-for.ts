import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GenesysDeliverySource,
  genesysRegionHosts,
} from '../lambdas/shared/adapters/genesys-delivery-source';
import {
  cleartextGatewayProblem,
  resolveGenesysEnvironment,
} from '../lambdas/shared/adapters/genesys-region';
import { OperatorError } from '../lambdas/shared/errors';
import {
  type GenesysCredentials,
  type PipelineSettings,
  parseCredentialsFromEnv,
  parseGenesysSecret,
  parsePipelineSettings,
} from '../lambdas/shared/settings';
import type { CliResources } from './resolve-resources';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The Genesys delivery log for `replay`, and the settings it normalises entries with. Credentials come from the
 * stack's secret when the CLI points at a deployed stack (the same ones the poller uses), else from
 * GENESYS_CLOUD_CLIENT_ID / GENESYS_CLOUD_CLIENT_SECRET (the environment or `.env`, as in local mode).
 */
export async function genesysSourceFor(
  env: Env,
  resources: CliResources,
  webhookId: string,
  region: string | undefined,
): Promise<{ source: GenesysDeliverySource; settings: PipelineSettings }> {
  const settings = parsePipelineSettings({
    // Local mode's targets listen on this machine; it opts in to loopback, as `npm start` does.
    ...(resources.local ? { TARGET_ALLOW_LOOPBACK: 'true' } : {}),
    ...env,
    WEBHOOK_ID: webhookId,
    ...(region !== undefined ? { GENESYS_CLOUD_REGION: region } : {}),
  });
  if (settings.GENESYS_CLOUD_REGION === undefined) {
    throw new OperatorError(
      'replay needs the Genesys Cloud region: set GENESYS_CLOUD_REGION or pass --genesys-region (against the demo of npm start: the emulator URL its banner prints)',
    );
  }
  const secretArn = resources.genesysSecretArn;
  // The stack's credentials go only to Genesys over TLS; plain http is for local mode's emulator.
  if (!resources.local) {
    const cleartext = cleartextGatewayProblem(
      resolveGenesysEnvironment(settings.GENESYS_CLOUD_REGION, genesysRegionHosts),
    );
    if (cleartext) throw new OperatorError(`replay against ${resources.where}: ${cleartext}`);
  }
  let credentials: () => Promise<GenesysCredentials>;
  if (secretArn !== undefined && env.GENESYS_CLOUD_CLIENT_ID === undefined) {
    credentials = async () => {
      const client = new SecretsManagerClient(resources.region ? { region: resources.region } : {});
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
        return parseGenesysSecret(out.SecretString, secretArn);
      } finally {
        client.destroy();
      }
    };
  } else {
    const missing = ['GENESYS_CLOUD_CLIENT_ID', 'GENESYS_CLOUD_CLIENT_SECRET'].filter(
      (name) => (env[name] ?? '').trim() === '',
    );
    if (missing.length > 0) {
      throw new OperatorError(
        `replay needs Genesys Cloud credentials: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (environment or .env)${resources.local ? '; against the demo of npm start, use the ones its banner prints' : ''}`,
      );
    }
    const fromEnv = parseCredentialsFromEnv(env);
    credentials = async () => fromEnv;
  }
  const source = new GenesysDeliverySource({ region: settings.GENESYS_CLOUD_REGION, credentials });
  return { source, settings };
}
