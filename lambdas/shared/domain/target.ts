/** Why a target URL may not be called, or undefined when it may. Pure: looks only at the URL text. */
export function targetRefusal(targetUrl: unknown, allowedHosts: readonly string[]): string | undefined {
  if (typeof targetUrl !== 'string' || targetUrl.trim() === '') return 'no target URL';
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    return `target URL is not a valid URL: ${JSON.stringify(targetUrl.slice(0, 200))}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `target URL scheme ${url.protocol.replace(/:$/, '')} is not allowed (only http and https)`;
  }
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isLinkLocalOrMetadata(host)) return `target host ${host} is a link-local or cloud metadata address`;
  if (allowedHosts.length > 0 && !allowedHosts.some((pattern) => hostMatches(host, url.port, pattern))) {
    return `target host ${host} is not in TARGET_ALLOWED_HOSTS`;
  }
  return undefined;
}

function hostMatches(host: string, port: string, pattern: string): boolean {
  const [patternHost = '', patternPort] = pattern.toLowerCase().split(':');
  if (patternPort !== undefined && patternPort !== port) return false;
  if (patternHost.startsWith('*.'))
    return host.endsWith(patternHost.slice(1)) && host !== patternHost.slice(2);
  return host === patternHost;
}

/** Link-local IPv4/IPv6 and the well-known instance metadata names (AWS IMDS, ECS, GCP). */
export function isLinkLocalOrMetadata(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'metadata.google.internal' || h === 'instance-data' || h === 'instance-data.ec2.internal')
    return true;
  if (/^169\.254\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (/^fe[89ab][0-9a-f]:/.test(h)) return true;
  if (h === 'fd00:ec2::254' || h === 'fd00:ec2::23') return true;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(h);
  // new URL() writes IPv4-mapped addresses in hex: ::ffff:169.254.169.254 becomes ::ffff:a9fe:a9fe.
  return mapped?.[1]?.startsWith('169.254.') === true || h.startsWith('::ffff:a9fe:');
}
