import { BlockList, isIP } from 'node:net';

/**
 * Which targets may be called. Named after the settings that fill it, so the parsed settings fit as they are.
 * Link-local, metadata, unspecified, multicast and reserved addresses are refused whatever it says.
 */
export interface TargetPolicy {
  /** When non-empty, the only hosts redeliveries may go to; an exact (non-wildcard) name may be private. */
  readonly TARGET_ALLOWED_HOSTS: readonly string[];
  /** Allow 127/8, ::1 and localhost: local mode and tests (in Lambda, 127.0.0.1:9001 is the Runtime API). */
  readonly TARGET_ALLOW_LOOPBACK: boolean;
  /** Allow private, CGNAT, ULA and NAT64 addresses for any host. */
  readonly TARGET_ALLOW_PRIVATE: boolean;
}

/** The policy of the deployed stack when nothing is set: public addresses only. */
export const PUBLIC_TARGETS_ONLY: TargetPolicy = {
  TARGET_ALLOWED_HOSTS: [],
  TARGET_ALLOW_LOOPBACK: false,
  TARGET_ALLOW_PRIVATE: false,
};

/** What an address (or a special name) is, as far as calling it is concerned. */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local or cloud metadata'
  | 'unspecified'
  | 'multicast or reserved';

const DESCRIPTION: Record<Exclude<AddressKind, 'public'>, string> = {
  loopback: 'a loopback address (set TARGET_ALLOW_LOOPBACK=true to allow it, for local runs only)',
  private:
    'a private, CGNAT, ULA or NAT64 address (name the host in TARGET_ALLOWED_HOSTS, or set TARGET_ALLOW_PRIVATE=true, to allow it)',
  'link-local or cloud metadata': 'a link-local or cloud metadata address',
  unspecified: 'an unspecified address',
  'multicast or reserved': 'a multicast or reserved address',
};

function blockList(ipv4: readonly string[], ipv6: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of ipv4) {
    const [net = '', bits = '32'] = cidr.split('/');
    list.addSubnet(net, Number(bits), 'ipv4');
  }
  for (const cidr of ipv6) {
    const [net = '', bits = '128'] = cidr.split('/');
    list.addSubnet(net, Number(bits), 'ipv6');
  }
  return list;
}

// net.BlockList matches IPv4-mapped IPv6 addresses (::ffff:127.0.0.1, ::ffff:7f00:1) against the IPv4 rules.
// Checked in this order: the first list that holds the address names its kind.
const KINDS: readonly (readonly [Exclude<AddressKind, 'public'>, BlockList])[] = [
  [
    'link-local or cloud metadata',
    // fd00:ec2::/32 is AWS's IPv6 IMDS, time and DNS; 100.100.100.200 is Alibaba Cloud's metadata service.
    blockList(['169.254.0.0/16', '100.100.100.200/32'], ['fe80::/10', 'fd00:ec2::/32']),
  ],
  ['unspecified', blockList(['0.0.0.0/8'], ['::/128'])],
  ['loopback', blockList(['127.0.0.0/8'], ['::1/128'])],
  [
    'private',
    blockList(
      ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '192.0.0.0/24', '198.18.0.0/15'],
      // ULA, deprecated site-local, NAT64 (well-known and local-use prefixes).
      ['fc00::/7', 'fec0::/10', '64:ff9b::/96', '64:ff9b:1::/48'],
    ),
  ],
  [
    'multicast or reserved',
    // 240/4 holds 255.255.255.255; ::/96 is the deprecated IPv4-compatible form; 100::/64 discards.
    blockList(['224.0.0.0/4', '240.0.0.0/4'], ['ff00::/8', '::/96', '100::/64']),
  ],
];

/** Cloud metadata services reachable by name. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** An IPv4 address embedded in the low 32 bits of an IPv6 one (NAT64, 6to4 uses bits 16-48). */
function embeddedIpv4(ipv6: string): string | undefined {
  const groups = expandIpv6(ipv6);
  if (!groups) return undefined;
  const quad = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b;
  if (nat64) return quad(groups[6] ?? 0, groups[7] ?? 0);
  if (groups[0] === 0x2002) return quad(groups[1] ?? 0, groups[2] ?? 0);
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(zeros).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
}

/**
 * What kind of address `host` is: an IP literal (any form node connects to, brackets and zone ids allowed) or one
 * of the names that always mean this machine or a metadata service. Undefined for any other name: only its DNS
 * answers can tell.
 */
export function addressKind(host: string): AddressKind | undefined {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .replace(/\.$/, '');
  if (METADATA_NAMES.has(h)) return 'link-local or cloud metadata';
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  const family = isIP(h);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const embedded = family === 6 ? embeddedIpv4(h) : undefined;
  const embeddedKind = embedded !== undefined ? addressKind(embedded) : undefined;
  // A NAT64 or 6to4 address is as dangerous as the IPv4 address it leads to (NAT64 is never less than private).
  if (embeddedKind !== undefined && embeddedKind !== 'public') return embeddedKind;
  for (const [kind, list] of KINDS) if (list.check(h, type)) return kind;
  return 'public';
}

/**
 * Why `address` (a literal in the URL, or one the target's name resolved to) may not be called for `host`, or
 * undefined when it may. A private address is allowed for a host named exactly in TARGET_ALLOWED_HOSTS.
 */
export function addressRefusal(
  address: string,
  policy: TargetPolicy,
  host: string = address,
  port = '',
): string | undefined {
  const kind = addressKind(address);
  if (kind === undefined || kind === 'public') return undefined;
  if (kind === 'loopback' && policy.TARGET_ALLOW_LOOPBACK) return undefined;
  if (kind === 'private' && (policy.TARGET_ALLOW_PRIVATE || isNamedHost(host, port, policy)))
    return undefined;
  const shown = host.replace(/^\[|\]$/g, '');
  const resolved = address === host ? '' : ` resolves to ${address},`;
  return `target host ${shown}${resolved} is ${DESCRIPTION[kind]}`;
}

/** Why a target URL may not be called, or undefined when it may. Pure: looks only at the URL text. */
export function targetRefusal(targetUrl: unknown, policy: TargetPolicy): string | undefined {
  if (typeof targetUrl !== 'string' || targetUrl.trim() === '') return 'no target URL';
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    // Not quoted: the text may hold a token, and this reason is stored and logged.
    return `target URL is not a valid URL (${targetUrl.length} characters)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `target URL scheme ${url.protocol.replace(/:$/, '')} is not allowed (only http and https)`;
  }
  // The URL parser has already turned 0x7f.1, 2130706433 and [::ffff:127.0.0.1] into canonical forms.
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const refusal = addressRefusal(host, policy, host, url.port);
  if (refusal) return refusal;
  const allowed = policy.TARGET_ALLOWED_HOSTS;
  if (allowed.length > 0 && !allowed.some((pattern) => hostMatches(host, url.port, pattern))) {
    return `target host ${host} is not in TARGET_ALLOWED_HOSTS`;
  }
  return undefined;
}

/** True when `host` is named in TARGET_ALLOWED_HOSTS by an exact entry, not a wildcard. */
function isNamedHost(host: string, port: string, policy: TargetPolicy): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return policy.TARGET_ALLOWED_HOSTS.some(
    (pattern) => !pattern.startsWith('*.') && hostMatches(h, port, pattern),
  );
}

function hostMatches(host: string, port: string, pattern: string): boolean {
  const [patternHost = '', patternPort] = pattern.toLowerCase().split(':');
  if (patternPort !== undefined && patternPort !== port) return false;
  if (patternHost.startsWith('*.'))
    return host.endsWith(patternHost.slice(1)) && host !== patternHost.slice(2);
  return host === patternHost;
}
