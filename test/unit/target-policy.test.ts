import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardedLookup } from '../../lambdas/shared/adapters/http-webhook-sender';
import {
  addressKind,
  PUBLIC_TARGETS_ONLY,
  type TargetPolicy,
  targetRefusal,
} from '../../lambdas/shared/domain/target';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { LOCAL_TARGETS } from '../support/local-targets';

/**
 * Which targets the deployed stack (its default settings) and local mode (loopback opted in) refuse: as URL
 * literals, as the poller and the redeliverer check them, and as DNS answers, as the sender checks the address
 * it connects to.
 */
const STACK: TargetPolicy = parsePipelineSettings({ WEBHOOK_ID: 'wh' });
const LOCAL: TargetPolicy = parsePipelineSettings({ WEBHOOK_ID: 'wh', TARGET_ALLOW_LOOPBACK: 'true' });

describe('the policies under test', () => {
  it('are the settings defaults and local mode’s opt-in', () => {
    expect(STACK).toMatchObject(PUBLIC_TARGETS_ONLY);
    expect(LOCAL).toMatchObject(LOCAL_TARGETS);
  });
});

type Verdict = 'ok' | RegExp;
const LOOPBACK = /loopback address/;
const PRIVATE = /private, CGNAT, ULA or NAT64/;
const LINK = /link-local or cloud metadata/;
const UNSPEC = /unspecified/;
const RESERVED = /multicast or reserved/;

// [URL, stack default, local mode]
const literals: [string, Verdict, Verdict][] = [
  ['https://hooks.example.com/x', 'ok', 'ok'],
  ['https://8.8.8.8/x', 'ok', 'ok'],
  ['https://[2606:4700::1111]/x', 'ok', 'ok'],
  ['https://[::ffff:8.8.8.8]/x', 'ok', 'ok'],
  ['https://172.32.0.1/x', 'ok', 'ok'], // just outside 172.16/12
  ['https://100.128.0.1/x', 'ok', 'ok'], // just outside 100.64/10
  // loopback, in every spelling the URL parser and node accept
  ['http://127.0.0.1:9001/2018-06-01/runtime/invocation/next', LOOPBACK, 'ok'],
  ['http://127.1/x', LOOPBACK, 'ok'],
  ['http://0x7f.1/x', LOOPBACK, 'ok'],
  ['http://2130706433/x', LOOPBACK, 'ok'],
  ['http://127.255.255.254/x', LOOPBACK, 'ok'],
  ['http://[::1]/x', LOOPBACK, 'ok'],
  ['http://[::ffff:127.0.0.1]/x', LOOPBACK, 'ok'],
  ['http://[0:0:0:0:0:ffff:7f00:1]/x', LOOPBACK, 'ok'],
  ['http://[64:ff9b::127.0.0.1]/x', LOOPBACK, 'ok'], // NAT64 of loopback
  ['http://[2002:7f00:1::1]/x', LOOPBACK, 'ok'], // 6to4 of loopback
  ['http://localhost:3000/x', LOOPBACK, 'ok'],
  ['http://LOCALHOST./x', LOOPBACK, 'ok'],
  ['http://api.localhost/x', LOOPBACK, 'ok'],
  // unspecified: connects to this machine on Linux; never a target
  ['http://0.0.0.0/x', UNSPEC, UNSPEC],
  ['http://0/x', UNSPEC, UNSPEC],
  ['http://[::]/x', UNSPEC, UNSPEC],
  // private, CGNAT, ULA, NAT64
  ['http://10.0.0.1/x', PRIVATE, PRIVATE],
  ['http://172.16.0.1/x', PRIVATE, PRIVATE],
  ['http://172.31.255.255/x', PRIVATE, PRIVATE],
  ['http://192.168.1.1/x', PRIVATE, PRIVATE],
  ['http://100.64.0.1/x', PRIVATE, PRIVATE],
  ['http://100.127.255.255/x', PRIVATE, PRIVATE],
  ['http://[fc00::1]/x', PRIVATE, PRIVATE],
  ['http://[fd12:3456::1]/x', PRIVATE, PRIVATE],
  ['http://[64:ff9b::8.8.8.8]/x', PRIVATE, PRIVATE],
  ['http://[64:ff9b::a00:1]/x', PRIVATE, PRIVATE],
  ['http://[::ffff:10.0.0.1]/x', PRIVATE, PRIVATE],
  ['http://[::ffff:192.168.0.1]/x', PRIVATE, PRIVATE],
  // link-local and metadata: never, whatever is set
  ['http://169.254.169.254/latest/meta-data', LINK, LINK],
  ['http://169.254.170.2/v2/credentials', LINK, LINK],
  ['http://[fe80::1]/x', LINK, LINK],
  ['http://[fd00:ec2::254]/x', LINK, LINK],
  ['http://[::ffff:169.254.169.254]/x', LINK, LINK],
  ['http://[64:ff9b::169.254.169.254]/x', LINK, LINK],
  ['http://metadata.google.internal/x', LINK, LINK],
  ['http://instance-data/x', LINK, LINK],
  ['http://100.100.100.200/x', LINK, LINK],
  // multicast, broadcast, reserved
  ['http://224.0.0.1/x', RESERVED, RESERVED],
  ['http://255.255.255.255/x', RESERVED, RESERVED],
  ['http://[ff02::1]/x', RESERVED, RESERVED],
  ['http://[::127.0.0.1]/x', RESERVED, RESERVED], // deprecated IPv4-compatible form
];

function expectVerdict(refusal: string | undefined, verdict: Verdict) {
  if (verdict === 'ok') expect(refusal).toBeUndefined();
  else expect(refusal).toMatch(verdict);
}

describe('targetRefusal: URL literals', () => {
  it.each(literals)('%s: stack %s, local mode %s', (url, stack, local) => {
    expectVerdict(targetRefusal(url, STACK), stack);
    expectVerdict(targetRefusal(url, LOCAL), local);
  });

  it.each<[string, Partial<TargetPolicy>, Verdict]>([
    // Naming a private host exactly allows it; a wildcard does not (anyone under it could point inside).
    ['http://10.0.0.5/x', { TARGET_ALLOWED_HOSTS: ['10.0.0.5'] }, 'ok'],
    ['http://10.0.0.5:8080/x', { TARGET_ALLOWED_HOSTS: ['10.0.0.5:8080'] }, 'ok'],
    ['http://10.0.0.5:8081/x', { TARGET_ALLOWED_HOSTS: ['10.0.0.5:8080'] }, PRIVATE],
    ['http://10.0.0.5/x', { TARGET_ALLOW_PRIVATE: true }, 'ok'],
    ['http://[fd12::1]/x', { TARGET_ALLOW_PRIVATE: true }, 'ok'],
    // Neither opens loopback, link-local or metadata.
    ['http://127.0.0.1/x', { TARGET_ALLOW_PRIVATE: true }, LOOPBACK],
    ['http://localhost/x', { TARGET_ALLOWED_HOSTS: ['localhost'] }, LOOPBACK],
    ['http://169.254.169.254/x', { TARGET_ALLOW_PRIVATE: true, TARGET_ALLOW_LOOPBACK: true }, LINK],
    ['http://169.254.169.254/x', { TARGET_ALLOWED_HOSTS: ['169.254.169.254'] }, LINK],
  ])('%s with %j', (url, policy, verdict) => {
    expectVerdict(targetRefusal(url, { ...PUBLIC_TARGETS_ONLY, ...policy }), verdict);
  });
});

/** Resolves every name to `answers`, as a DNS server the attacker controls would. */
function resolver(answers: readonly string[]): LookupFunction {
  return (_hostname, options, callback) => {
    const all: LookupAddress[] = answers.map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    if (options.all) callback(null, all);
    else callback(null, all[0]?.address ?? '', all[0]?.family ?? 4);
  };
}

function resolveThrough(
  answers: readonly string[],
  policy: TargetPolicy,
  host = 'hooks.example.com',
  all = true,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    guardedLookup(resolver(answers), policy)(host, { all }, (error) => resolve(error?.message));
  });
}

// [DNS answers, stack default, local mode]
const answers: [string[], Verdict, Verdict][] = [
  [['93.184.215.14'], 'ok', 'ok'],
  [['2606:2800:21f:cb07:6820:80da:af6b:8b2c'], 'ok', 'ok'],
  [['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'], 'ok', 'ok'],
  [['127.0.0.1'], LOOPBACK, 'ok'],
  [['::1'], LOOPBACK, 'ok'],
  [['::ffff:127.0.0.1'], LOOPBACK, 'ok'],
  [['0.0.0.0'], UNSPEC, UNSPEC],
  [['10.1.2.3'], PRIVATE, PRIVATE],
  [['172.20.0.1'], PRIVATE, PRIVATE],
  [['192.168.0.10'], PRIVATE, PRIVATE],
  [['100.64.1.1'], PRIVATE, PRIVATE],
  [['fd00::10'], PRIVATE, PRIVATE],
  [['64:ff9b::1.2.3.4'], PRIVATE, PRIVATE],
  [['169.254.169.254'], LINK, LINK],
  [['fd00:ec2::254'], LINK, LINK],
  [['fe80::1'], LINK, LINK],
  // Mixed answers: one inside address is enough to refuse the name (node could pick either).
  [['93.184.215.14', '10.0.0.1'], PRIVATE, PRIVATE],
  [['93.184.215.14', '127.0.0.1'], LOOPBACK, 'ok'],
  [['2606:2800:21f:cb07:6820:80da:af6b:8b2c', '::1'], LOOPBACK, 'ok'],
  [['93.184.215.14', '169.254.169.254'], LINK, LINK],
  [['127.0.0.1', '169.254.169.254'], LOOPBACK, LINK],
];

describe('guardedLookup: DNS answers, as the sender checks the address it connects to', () => {
  it.each(answers)('%j: stack %s, local mode %s', async (addresses, stack, local) => {
    expectVerdict(await resolveThrough(addresses, STACK), stack);
    expectVerdict(await resolveThrough(addresses, LOCAL), local);
  });

  it('checks the single answer of a lookup without `all` as well', async () => {
    expectVerdict(await resolveThrough(['10.0.0.1'], STACK, 'hooks.example.com', false), PRIVATE);
  });

  it('names the host and the address it resolved to', async () => {
    expect(await resolveThrough(['93.184.215.14', '10.9.8.7'], STACK, 'rebind.example.net')).toMatch(
      /^target host rebind\.example\.net resolves to 10\.9\.8\.7, is a private/,
    );
  });

  it.each<[string, Partial<TargetPolicy>, Verdict]>([
    ['internal.example.com', { TARGET_ALLOWED_HOSTS: ['internal.example.com'] }, 'ok'],
    ['a.internal.example.com', { TARGET_ALLOWED_HOSTS: ['*.internal.example.com'] }, PRIVATE],
    ['other.example.com', { TARGET_ALLOWED_HOSTS: ['internal.example.com'] }, PRIVATE],
    ['any.example.com', { TARGET_ALLOW_PRIVATE: true }, 'ok'],
  ])('a private answer for %s with %j', async (host, policy, verdict) => {
    expectVerdict(await resolveThrough(['10.0.0.5'], { ...PUBLIC_TARGETS_ONLY, ...policy }, host), verdict);
  });

  it('passes a resolver error on unchanged', async () => {
    const failing: LookupFunction = (_h, _o, callback) =>
      callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), '', 4);
    const message = await new Promise<string | undefined>((resolve) =>
      guardedLookup(failing, STACK)('nx.example.com', { all: true }, (e) => resolve(e?.message)),
    );
    expect(message).toMatch(/ENOTFOUND/);
  });
});

describe('addressKind', () => {
  it.each([
    ['hooks.example.com', undefined],
    ['8.8.8.8', 'public'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local or cloud metadata'],
    ['2002:a00:1::1', 'private'], // 6to4 of 10.0.0.1
    ['2002:808:808::1', 'public'], // 6to4 of 8.8.8.8
  ])('%s is %s', (host, kind) => {
    expect(addressKind(host)).toBe(kind);
  });
});
