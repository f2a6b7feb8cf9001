import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EmulatedDelivery, emulatedDeliverySchema } from './genesys-emulator/emulated-delivery';
import { defaultCodes, errorBody, rateLimitBody, sendJson } from './genesys-emulator/error-body';
import { type IndexedDelivery, indexDeliveries, listDeliveries } from './genesys-emulator/list-deliveries';

export { type EmulatedDelivery, loadDeliveriesFile } from './genesys-emulator/emulated-delivery';

/** How the emulator is started; every option has a local-demo default. */
export interface GenesysEmulatorOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** OAuth clients allowed to log in. @default one client 'local-client-id' / 'local-client-secret' */
  clients?: { clientId: string; clientSecret: string }[];
  /** Known webhooks; others answer 404. @default any webhook with deliveries or added with addWebhook */
  webhookIds?: string[];
  /** @default 86400 */
  tokenLifetimeSeconds?: number;
  /** Requests per token per rolling minute. @default 300 */
  rateLimitPerMinute?: number;
  /**
   * The emulator's clock, for tokens, rate limits and late listing; read once per request, as it arrives.
   * @default () => new Date()
   */
  now?: () => Date;
  deliveries?: EmulatedDelivery[];
  /** One line per request. @default silent */
  log?: (line: string) => void;
}

/** A fault to answer with instead of the real response, for chaos tests. */
export interface InjectedFault {
  status: 429 | 503 | 401 | 500;
  count: number;
  retryAfterSeconds?: number;
  /** Only requests to this endpoint. @default any request */
  path?: 'login' | 'deliveries';
}

/** A running emulator. */
export interface GenesysEmulator {
  /** Base URL, e.g. http://127.0.0.1:PORT; usable as GENESYS_CLOUD_REGION. */
  readonly url: string;
  readonly port: number;
  addWebhook(id: string): void;
  addDeliveries(deliveries: EmulatedDelivery[]): void;
  expireAllTokens(): void;
  revokeAllTokens(): void;
  injectFaults(fault: InjectedFault): void;
  /** Live counters: successful logins, requests to the delivery log (any outcome), responses by status. */
  readonly stats: { logins: number; deliveryRequests: number; responsesByStatus: Record<number, number> };
  stop(): Promise<void>;
}

interface Token {
  expiresAt: number;
  revoked: boolean;
  /** Request times (ms) within the rolling minute. */
  requests: number[];
}

const DELIVERIES_PATH = /^\/api\/v2\/webhooks\/([^/]+)\/deliveries\/?$/;
const RATE_WINDOW_MS = 60_000;

async function drain(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a Genesys Cloud emulator speaking the delivery-log contract of /work/shared/genesys-delivery-log.md:
 * client-credentials login, the paged delivery log, ErrorBody errors with correlation ids, and per-token
 * rate limits, so the adapter can be tested over real sockets and local mode can run without an org.
 */
export async function startGenesysEmulator(options: GenesysEmulatorOptions = {}): Promise<GenesysEmulator> {
  const now = options.now ?? (() => new Date());
  const clients = options.clients ?? [{ clientId: 'local-client-id', clientSecret: 'local-client-secret' }];
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? 86_400;
  const rateLimit = options.rateLimitPerMinute ?? 300;
  const fixedWebhooks = options.webhookIds ? new Set(options.webhookIds) : undefined;
  const addedWebhooks = new Set<string>();
  const deliveries: EmulatedDelivery[] = [];
  const tokens = new Map<string, Token>();
  const faults: InjectedFault[] = [];
  const stats = { logins: 0, deliveryRequests: 0, responsesByStatus: {} as Record<number, number> };

  /** Per webhook, built on first listing after a change. */
  let index: Map<string, IndexedDelivery[]> | undefined;
  const addDeliveries = (more: EmulatedDelivery[]) => {
    for (const d of more) deliveries.push(emulatedDeliverySchema.parse(d));
    index = undefined;
  };
  const indexed = (webhookId: string): readonly IndexedDelivery[] => {
    if (!index) {
      const groups = new Map<string, EmulatedDelivery[]>();
      for (const d of deliveries) {
        const group = groups.get(d.webhookId);
        if (group) group.push(d);
        else groups.set(d.webhookId, [d]);
      }
      index = new Map([...groups].map(([id, list]) => [id, indexDeliveries(list)]));
    }
    return index.get(webhookId) ?? [];
  };
  addDeliveries(options.deliveries ?? []);

  const webhookKnown = (id: string) =>
    fixedWebhooks
      ? fixedWebhooks.has(id) || addedWebhooks.has(id)
      : addedWebhooks.has(id) || deliveries.some((d) => d.webhookId === id);

  const takeFault = (route: 'login' | 'deliveries'): InjectedFault | undefined => {
    const fault = faults.find((f) => f.count > 0 && (f.path === undefined || f.path === route));
    if (fault) fault.count -= 1;
    return fault;
  };

  const fail = (res: ServerResponse, status: number, message: string, code = defaultCodes[status]) => {
    const contextId = String(res.getHeader('ININ-Correlation-Id'));
    sendJson(res, status, errorBody(status, code ?? 'error', message, contextId));
  };

  const login = async (req: IncomingMessage, res: ServerResponse, arrivedAt: number) => {
    const form = new URLSearchParams(await drain(req));
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const id = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    if (colon < 0 || !clients.some((c) => c.clientId === id && c.clientSecret === secret)) {
      return fail(res, 401, 'Invalid login credentials.', 'bad.credentials');
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return fail(res, 400, 'grant_type must be client_credentials');
    }
    const accessToken = randomBytes(32).toString('base64url');
    tokens.set(accessToken, {
      expiresAt: arrivedAt + lifetimeSeconds * 1000,
      revoked: false,
      requests: [],
    });
    stats.logins += 1;
    sendJson(res, 200, { access_token: accessToken, token_type: 'bearer', expires_in: lifetimeSeconds });
  };

  const deliveriesRoute = (
    req: IncomingMessage,
    res: ServerResponse,
    webhookId: string,
    url: URL,
    nowMs: number,
  ) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) return fail(res, 401, 'No authentication bearer token specified in authorization header.');
    const token = tokens.get(bearer);
    if (!token || token.revoked) return fail(res, 401, 'Invalid login credentials.', 'bad.credentials');
    if (token.expiresAt <= nowMs) return fail(res, 401, 'The access token has expired.', 'bad.credentials');

    token.requests = token.requests.filter((t) => t > nowMs - RATE_WINDOW_MS);
    const oldest = token.requests[0];
    if (token.requests.length >= rateLimit && oldest !== undefined) {
      const retryAfter = Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - nowMs) / 1000));
      const contextId = String(res.getHeader('ININ-Correlation-Id'));
      return sendJson(res, 429, rateLimitBody(retryAfter, contextId), { 'Retry-After': String(retryAfter) });
    }
    token.requests.push(nowMs);
    if (!webhookKnown(webhookId)) return fail(res, 404, `Webhook ${webhookId} not found`);

    const outcome = listDeliveries(indexed(webhookId), webhookId, url.searchParams, new Date(nowMs));
    if (!outcome.ok) return fail(res, 400, outcome.message);
    const reset = Math.ceil(((token.requests[0] ?? nowMs) + RATE_WINDOW_MS - nowMs) / 1000);
    sendJson(res, 200, outcome.listing, {
      'inin-ratelimit-allowed': String(rateLimit),
      'inin-ratelimit-count': String(token.requests.length),
      'inin-ratelimit-reset': String(reset),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('ININ-Correlation-Id', randomUUID());
    res.on('finish', () => {
      stats.responsesByStatus[res.statusCode] = (stats.responsesByStatus[res.statusCode] ?? 0) + 1;
      options.log?.(`genesys-emulator ${req.method} ${req.url} → ${res.statusCode}`);
    });
    const url = new URL(req.url ?? '/', 'http://emulator');
    const webhookId = DELIVERIES_PATH.exec(url.pathname)?.[1];
    const route =
      req.method === 'POST' && url.pathname === '/oauth/token'
        ? 'login'
        : req.method === 'GET' && webhookId !== undefined
          ? 'deliveries'
          : undefined;
    if (route === 'deliveries') stats.deliveryRequests += 1;
    if (route === undefined) {
      await drain(req);
      return fail(res, 404, `No resource at ${req.method} ${url.pathname}`);
    }
    const fault = takeFault(route);
    if (fault) {
      await drain(req);
      if (fault.status === 429) {
        const seconds = fault.retryAfterSeconds ?? 1;
        const contextId = String(res.getHeader('ININ-Correlation-Id'));
        return sendJson(res, 429, rateLimitBody(seconds, contextId), { 'Retry-After': String(seconds) });
      }
      const message = fault.status === 401 ? 'Authentication required' : 'Injected fault';
      return fail(res, fault.status, message);
    }
    const arrivedAt = now().getTime();
    if (route === 'login') return login(req, res, arrivedAt);
    return deliveriesRoute(req, res, decodeURIComponent(webhookId ?? ''), url, arrivedAt);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log?.(`genesys-emulator error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) fail(res, 500, 'The emulator failed to answer');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    stats,
    addWebhook: (id) => void addedWebhooks.add(id),
    addDeliveries,
    expireAllTokens: () => {
      const past = now().getTime() - 1;
      for (const token of tokens.values()) token.expiresAt = Math.min(token.expiresAt, past);
    },
    revokeAllTokens: () => {
      for (const token of tokens.values()) token.revoked = true;
    },
    injectFaults: (fault) => void faults.push({ ...fault }),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
