import { ConfigError } from '../errors';

/** Where the Genesys SDK must send requests: a platform region, or a gateway (an emulator or a proxy). */
export type GenesysEnvironment =
  | { readonly kind: 'region'; readonly domain: string }
  | {
      readonly kind: 'gateway';
      readonly protocol: 'http' | 'https';
      readonly host: string;
      /** Absent when the URL names no port (the protocol's default). */
      readonly port?: number;
      /** Path prefix for both login and API requests ('' for none), e.g. '/genesys' behind a proxy. */
      readonly pathPrefix: string;
    };

const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/;

function invalid(region: string | undefined, regionHosts: Readonly<Record<string, string>>): ConfigError {
  const keys = Object.keys(regionHosts).map((k) => k.replaceAll('_', '-'));
  const got = !region?.trim() ? 'it is not set' : `got "${region}"`;
  return new ConfigError(
    `GENESYS_CLOUD_REGION must be a Genesys Cloud region (${keys.join(', ')}; underscores also accepted), ` +
      `a region domain (${Object.values(regionHosts).slice(0, 2).join(', ')}, …) ` +
      `or a base URL for an emulator or proxy (http://127.0.0.1:9000); ${got}`,
  );
}

/**
 * Resolves GENESYS_CLOUD_REGION to where the SDK must send requests. Accepts a region key (`us-east-1` or
 * `us_east_1`), a region's domain (`mypurecloud.com`, also with an `api.`/`login.` prefix), or a full base URL
 * (`http://127.0.0.1:9000`), which becomes a gateway so that login and API calls both go there.
 * `regionHosts` is the SDK's PureCloudRegionHosts table, passed in so this stays pure.
 */
export function resolveGenesysEnvironment(
  region: string | undefined,
  regionHosts: Readonly<Record<string, string>>,
): GenesysEnvironment {
  const value = region?.trim();
  if (!value) throw invalid(region, regionHosts);

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch (cause) {
      throw new ConfigError(invalid(region, regionHosts).message, { cause });
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
      throw invalid(region, regionHosts);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // A region URL such as https://api.mypurecloud.com is a region, not a gateway.
    const domain = host.replace(/^(api|login)\./, '');
    if (url.protocol === 'https:' && !url.port && Object.values(regionHosts).includes(domain)) {
      if (url.pathname === '/' || url.pathname === '') return { kind: 'region', domain };
    }
    const pathPrefix = url.pathname.replace(/\/+$/, '');
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    return url.port
      ? { kind: 'gateway', protocol, host, port: Number(url.port), pathPrefix }
      : { kind: 'gateway', protocol, host, pathPrefix };
  }

  const key = value.toLowerCase().replaceAll('-', '_');
  const fromKey = regionHosts[key];
  if (fromKey !== undefined) return { kind: 'region', domain: fromKey };

  const domain = value
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^(api|login)\./, '');
  if (Object.values(regionHosts).includes(domain)) return { kind: 'region', domain };
  // A domain the SDK's table does not know yet (a region newer than the SDK) is accepted if it looks like one.
  if (DOMAIN.test(domain) && /(^|[.-])pure\.cloud$|^mypurecloud\./.test(domain)) {
    return { kind: 'region', domain };
  }
  throw invalid(region, regionHosts);
}

/**
 * Why GENESYS_CLOUD_REGION may not be used outside local mode, or undefined: an `http://` gateway would carry the
 * OAuth client secret, and every token, in clear. Only local mode's emulator (on this machine) speaks plain HTTP.
 */
export function cleartextGatewayProblem(environment: GenesysEnvironment): string | undefined {
  if (environment.kind !== 'gateway' || environment.protocol !== 'http') return undefined;
  return `GENESYS_CLOUD_REGION is an http:// URL (${environment.host}): the OAuth client secret would cross the network in clear; use https:// (plain http is for local mode's emulator only)`;
}
