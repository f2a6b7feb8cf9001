import platformClient from 'purecloud-platform-client-v2';
import { GenesysApiError } from '../errors';
import type { DeliveryPage, DeliveryWindow, FailedDeliverySource } from '../ports';
import type { GenesysCredentials } from '../settings';
import { GenesysCallFailed, GenesysCallPolicy } from './genesys-call-policy';
import { type GenesysFailure, genesysError } from './genesys-failure';
import { type GenesysEnvironment, resolveGenesysEnvironment } from './genesys-region';

/** The SDK's region table (region key → domain), for resolveGenesysEnvironment. */
export const genesysRegionHosts: Readonly<Record<string, string>> = platformClient.PureCloudRegionHosts;

/** How to reach Genesys Cloud and how patiently. */
export interface GenesysDeliverySourceOptions {
  /** GENESYS_CLOUD_REGION: region key, domain or base URL; undefined is a ConfigError. */
  readonly region: string | undefined;
  /** Called at each login, so a rotated secret is picked up without a cold start. */
  readonly credentials: () => Promise<GenesysCredentials>;
  /** @default 100 (the platform's maximum) */
  readonly pageSize?: number;
  /**
   * Logins and API calls together, in any rolling minute. The platform allows 300 per token; the default keeps
   * a margin because the server counts arrivals, not sends, and network jitter moves requests between minutes.
   * @default 280
   */
  readonly maxRequestsPerMinute?: number;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default silent */
  readonly log?: (event: { message: string; [k: string]: unknown }) => void;
}

type Client = typeof platformClient.ApiClient.instance;

/** Renew this long before expiry, so a token never expires between the check and the request. */
/** The platform's 300 a minute per token, less a margin for network jitter (see maxRequestsPerMinute). */
export const DEFAULT_REQUESTS_PER_MINUTE = 280;
const RENEW_MARGIN_MS = 5 * 60_000;
/** Pages read of one window at most; a bigger window is refused up front so the caller splits it. */
export const MAX_PAGES = 10_000;

/** Ends a platform message with exactly one full stop, so a hint can follow it. */
function sentence(message: string): string {
  return `${message.replace(/[.\s]+$/, '')}.`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads failed deliveries from the Genesys Cloud delivery log through the official SDK. This is the only module
 * that imports the SDK (it costs ~95 ms and ~40 MB to load). One instance lives at module scope so its token
 * survives warm invocations. The SDK's ApiClient is a process-wide singleton, so every call re-applies this
 * instance's environment, timeout and token just before the SDK reads them (synchronously).
 */
export class GenesysDeliverySource implements FailedDeliverySource {
  private readonly client: Client = platformClient.ApiClient.instance;
  private readonly environment: GenesysEnvironment;
  private readonly policy: GenesysCallPolicy;
  private readonly pageSize: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private token: { value: string; renewAt: number } | undefined;
  private login: Promise<string> | undefined;
  /** Secrets seen so far, scrubbed from every message we build. */
  private secrets: string[] = [];

  constructor(private readonly options: GenesysDeliverySourceOptions) {
    this.environment = resolveGenesysEnvironment(options.region, genesysRegionHosts);
    // The SDK polls ~/.genesyscloudjavascript/config for changes; our settings come from settings.ts only.
    this.client.config.live_reload_config = false;
    this.pageSize = options.pageSize ?? 100;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.policy = new GenesysCallPolicy({
      maxRequestsPerMinute: options.maxRequestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE,
      timeoutMs: this.timeoutMs,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: this.now,
      ...(options.log ? { log: options.log } : {}),
      secrets: () => this.secrets,
    });
  }

  async *failedDeliveries(
    window: DeliveryWindow,
    options: { deadline?: number } = {},
  ): AsyncIterable<readonly unknown[]> {
    for (let pageNumber = 1; ; pageNumber++) {
      const page = await this.readPage(window, pageNumber, options);
      if (pageNumber === 1 && page.pageCount !== undefined && page.pageCount > MAX_PAGES) {
        throw new GenesysApiError(
          `the delivery log of webhook ${window.webhookId} from ${window.start.toISOString()} to ${window.end.toISOString()} holds ${page.pageCount} pages, more than the ${MAX_PAGES} read of one window: read it in shorter windows`,
          200,
          'window.too.large',
          undefined,
        );
      }
      yield page.entries;
      if (!page.hasNext) return;
      if (pageNumber >= MAX_PAGES) {
        throw new GenesysApiError(
          `the delivery log of webhook ${window.webhookId} from ${window.start.toISOString()} to ${window.end.toISOString()} still had pages after ${MAX_PAGES}: read it in shorter windows`,
          200,
          'window.too.large',
          undefined,
        );
      }
    }
  }

  async readPage(
    window: DeliveryWindow,
    pageNumber: number,
    options: { deadline?: number } = {},
  ): Promise<DeliveryPage> {
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    const { webhookId } = window;
    const page = await this.getPage(webhookId, deadline, {
      filterStatus: 'failed',
      startDate: window.start.toISOString(),
      endDate: window.end.toISOString(),
      pageSize: String(this.pageSize),
      pageNumber: String(pageNumber),
    });
    if (!isRecord(page) || !Array.isArray(page.entities)) {
      throw new GenesysApiError(
        `Genesys Cloud answered page ${pageNumber} of webhook ${webhookId}'s delivery log without an entities array`,
        200,
        undefined,
        undefined,
      );
    }
    const entries: readonly unknown[] = page.entities;
    const pageCount =
      typeof page.pageCount === 'number' && Number.isInteger(page.pageCount) && page.pageCount >= 0
        ? page.pageCount
        : undefined;
    const total =
      typeof page.total === 'number' && Number.isSafeInteger(page.total) && page.total >= 0
        ? page.total
        : undefined;
    const hasNext =
      typeof page.nextUri === 'string' &&
      page.nextUri.length > 0 &&
      entries.length > 0 &&
      (pageCount === undefined || pageNumber < pageCount);
    return { entries, pageCount, hasNext, total };
  }

  requestCapacity(until: number): number {
    return this.policy.capacity(until);
  }

  /** One page, with one re-login after a 401 (the token may have been revoked or expired early). */
  private async getPage(webhookId: string, deadline: number, query: Record<string, string>) {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken(deadline);
      try {
        const reply = await this.policy.run('delivery-log request', deadline, () =>
          this.configured(token).callApi(
            '/api/v2/webhooks/{webhookId}/deliveries',
            'GET',
            { webhookId },
            // The SDK's typings say object values; it serialises strings as they are.
            query as unknown as Record<string, object>,
            {},
            {},
            null,
            ['PureCloud OAuth'],
            ['application/json'],
            ['application/json'],
          ),
        );
        if (!isRecord(reply) || !('body' in reply)) return reply;
        this.policy.observeServerBudget(reply.headers);
        return reply.body;
      } catch (error) {
        if (!(error instanceof GenesysCallFailed)) throw error;
        const { failure } = error;
        if (failure.status === 401 && attempt === 1) {
          this.options.log?.({ message: 'genesys.token.rejected', webhookId, code: failure.code });
          this.token = undefined;
          continue;
        }
        throw this.toError(failure, webhookId);
      }
    }
  }

  private toError(failure: GenesysFailure, webhookId: string): GenesysApiError {
    const what = `${failure.status ?? 'no response'} ${failure.code ?? ''}`.trim();
    const message =
      failure.status === 404
        ? // A real org has no such endpoint: the delivery log is this project's design (docs/sources.md).
          `webhook ${webhookId} not found in Genesys Cloud (${what}): ${sentence(failure.message)} The delivery-log endpoint is this project's design, not a published Genesys Cloud API, so a real org answers 404 for every webhook: use the EventBridge source (docs/sources.md, "Connect a real Genesys Cloud org"). Against an emulator of the design, check WEBHOOK_ID.`
        : failure.status === 401
          ? `Genesys Cloud rejected a fresh access token for webhook ${webhookId}'s delivery log (${what}): ${sentence(failure.message)} Check the OAuth client's roles and permissions.`
          : failure.status === 400
            ? `Genesys Cloud refused the delivery-log query for webhook ${webhookId} (${what}): ${failure.message}`
            : failure.status === undefined
              ? `Genesys Cloud could not be reached for webhook ${webhookId}'s delivery log: ${failure.message}`
              : `Genesys Cloud answered ${what} for webhook ${webhookId}'s delivery log: ${failure.message}`;
    return genesysError(message, failure, this.secrets);
  }

  /** The cached token, or a new one: renewed ahead of expiry; concurrent callers share one login. */
  private async accessToken(deadline: number): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return this.token.value;
    this.login ??= this.logIn(deadline).finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  private async logIn(deadline: number): Promise<string> {
    this.token = undefined;
    const { clientId, clientSecret } = await this.options.credentials();
    this.secrets = [clientSecret, Buffer.from(`${clientId}:${clientSecret}`).toString('base64')];
    try {
      const auth = await this.policy.run('login', deadline, () =>
        this.configured().loginClientCredentialsGrant(clientId, clientSecret),
      );
      // The SDK turns expires_in into an absolute time on the real clock; take back the lifetime.
      const lifetimeMs = Math.max(0, auth.tokenExpiryTime - Date.now()) || 0;
      const margin = Math.min(RENEW_MARGIN_MS, lifetimeMs / 2);
      this.token = { value: auth.accessToken, renewAt: this.now() + lifetimeMs - margin };
      this.options.log?.({ message: 'genesys.login', expiresInSeconds: Math.round(lifetimeMs / 1000) });
      return auth.accessToken;
    } catch (error) {
      if (!(error instanceof GenesysCallFailed)) throw error;
      const { failure } = error;
      const what = `${failure.status ?? 'no response'} ${failure.code ?? ''}`.trim();
      const hint =
        failure.status === 401 || failure.status === 400
          ? ' Check the OAuth client id and secret (client credentials grant).'
          : '';
      throw genesysError(
        `Genesys Cloud login failed (${what}): ${sentence(failure.message)}${hint}`,
        failure,
        this.secrets,
      );
    }
  }

  /** The singleton client, set up for this instance's environment. */
  private configured(token?: string): Client {
    const client = this.client;
    const env = this.environment;
    if (env.kind === 'region') {
      client.setEnvironment(env.domain);
      // An empty gateway host makes the SDK use the region's own hosts again.
      client.setGateway({ host: '' });
    } else {
      client.setGateway({
        host: env.host,
        protocol: env.protocol,
        ...(env.port === undefined ? {} : { port: env.port }),
        path_params_login: env.pathPrefix,
        path_params_api: env.pathPrefix,
      });
    }
    client.setReturnExtendedResponses(true);
    client.getHttpClient().setTimeout(this.timeoutMs);
    if (token !== undefined) client.setAccessToken(token);
    return client;
  }
}
