import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseLocalSettings, pipelineSettingsSchema } from '../../lambdas/shared/settings';
import { ALARM_NAMES } from '../../lib/constructs/recovery-alarms';
import { STACK_KEYS } from '../../lib/stack-config';
import { buildStack } from '../infra/synth-stack';

/**
 * Keeps the docs true where a test can: every setting of the schema in configuration.md with its default and
 * range, every CLI command and every alarm in operations.md, every relative link resolving.
 */
const ROOT = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const configuration = read('docs/configuration.md');
const operations = read('docs/operations.md');

const deploy = read('docs/deploy.md');

/** What a synth of each source makes: alarm names, function count and output names. */
const ROUTES = JSON.stringify([{ name: 'a', topics: ['v2.x.{id}'], url: 'https://hooks.example.com/a' }]);
const EVENTBRIDGE = { ROUTES, eventSource: 'aws.partner/genesys.com/cloud/o/s' };
function synthOf(context: Record<string, string>) {
  const template = Template.fromStack(buildStack(context).stack).toJSON() as {
    Resources: Record<string, { Type: string }>;
    Outputs: Record<string, unknown>;
  };
  const of = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
  return {
    alarms: of('AWS::CloudWatch::Alarm'),
    functions: of('AWS::Lambda::Function'),
    outputs: Object.keys(template.Outputs),
  };
}

function row(page: string, name: string): string[] | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`| \`${name}\``) || l.includes(`| \`${name}\`,`));
  return line?.split('|').map((c) => c.trim());
}

describe('docs/configuration.md', () => {
  const shape = pipelineSettingsSchema.shape;
  it.each(Object.keys(shape))('documents %s with its default and range', (name) => {
    const cells = row(configuration, name);
    expect(cells, `${name} has a row in docs/configuration.md`).toBeDefined();
    const [, , documentedDefault = '', range = ''] = cells ?? [];
    const field = shape[name as keyof typeof shape];
    const parsed = field.safeParse(undefined);
    const value: unknown = parsed.success ? parsed.data : undefined;
    if (typeof value === 'number' || typeof value === 'boolean') {
      expect(documentedDefault, `${name}'s default`).toContain(`\`${value}\``);
    } else {
      expect(documentedDefault, `${name} has no default of its own`).toMatch(/none|all public hosts/);
    }
    const bounds = /^(\d+)–(\d+)/.exec(range);
    if (typeof value === 'number') {
      expect(bounds, `${name}'s range`).not.toBeNull();
      const [min, max] = [Number(bounds?.[1]), Number(bounds?.[2])];
      // The documented range is the schema's: its ends pass, one step beyond fails.
      for (const ok of [min, max]) expect(field.safeParse(String(ok)).success, `${name}=${ok}`).toBe(true);
      for (const bad of [min - 1, max + 1])
        expect(field.safeParse(String(bad)).success, `${name}=${bad}`).toBe(false);
    }
  });

  it.each([...STACK_KEYS])('documents the stack context key %s', (key) => {
    expect(configuration).toContain(`\`${key}\``);
  });

  it.each(Object.keys(parseLocalSettings({})))('documents the local-mode variable %s', (name) => {
    expect(row(configuration, name), `${name} has a row`).toBeDefined();
  });
});

describe('docs/operations.md', () => {
  const commands = /const COMMANDS = \[([^\]]+)\]/.exec(read('cli/main.ts'))?.[1] ?? '';
  it.each(commands.split(',').map((c) => c.trim().replace(/'/g, '')))(
    'documents the CLI command %s',
    (command) => {
      expect(operations).toContain(command);
    },
  );

  const eventBridgeAlarms = [
    ...read('lib/constructs/eventbridge-source.ts').matchAll(/'(EventBridge\w+)',\n/g),
  ].map((m) => m[1] ?? '');
  it.each([...ALARM_NAMES, ...eventBridgeAlarms])('documents the alarm %s', (alarm) => {
    expect(operations).toContain(`\`${alarm}\``);
  });
});

describe('relative links', () => {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((p) =>
    p.endsWith('.md'),
  );
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
  const anchors = (page: string) =>
    new Set(
      read(page)
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => slug(l.replace(/^#+ /, ''))),
    );
  const links = pages.flatMap((page) =>
    [...read(page).matchAll(/\]\((?!https?:|mailto:)([^)\s]+)\)/g)].map((m) => ({ page, link: m[1] ?? '' })),
  );
  it('finds links to check', () => expect(links.length).toBeGreaterThan(10));
  it.each(links.map((l) => [`${l.page} → ${l.link}`, l] as const))('%s resolves', (_name, { page, link }) => {
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? page : join(dirname(page), path);
    expect(existsSync(join(ROOT, target)), `${target} exists`).toBe(true);
    if (anchor && target.endsWith('.md'))
      expect(anchors(target).has(anchor), `#${anchor} in ${target}`).toBe(true);
  });
});

describe('docs/deploy.md, against a synth of each source', () => {
  const synths = {
    'delivery log': synthOf({}),
    'EventBridge only': synthOf({ WEBHOOK_ID: '', ...EVENTBRIDGE }),
    both: synthOf(EVENTBRIDGE),
  };
  const words = ['', 'one', 'two', 'three'];

  it('states the alarm and function counts of each source', () => {
    const created = deploy.slice(deploy.indexOf('### What gets created'));
    const d = synths['delivery log'];
    const e = synths['EventBridge only'];
    const b = synths.both;
    expect(created).toContain(
      `**${d.alarms} alarms** and ${words[d.functions]} functions (poller, redeliverer) with the delivery log`,
    );
    expect(e.functions).toBe(1);
    expect(created).toContain(
      `**${e.alarms} alarms** and one function\n(the redeliverer) with EventBridge only`,
    );
    expect(created).toContain(`**${b.alarms} alarms** and ${words[b.functions]} functions with both`);
    expect(deploy).toContain(
      `${d.alarms} alarms with the delivery log (${e.alarms} with EventBridge only, ${b.alarms} with both)`,
    );
  });

  it('lists every output once, with the sources that have it', () => {
    const table = deploy.slice(deploy.indexOf('### Outputs'), deploy.indexOf('### Put the Genesys'));
    const documented = new Map<string, string>();
    for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const [, names = '', sources = ''] = line.split('|').map((c) => c.trim());
      for (const m of names.matchAll(/`(\w+)`/g)) documented.set(m[1] ?? '', sources);
    }
    const all = new Set([...synths.both.outputs, ...synths['delivery log'].outputs]);
    expect([...documented.keys()].sort()).toEqual([...all].sort());
    for (const [name, sources] of documented) {
      const inLog = synths['delivery log'].outputs.includes(name);
      const inEventBridge = synths['EventBridge only'].outputs.includes(name);
      const expected = inLog && inEventBridge ? 'both' : inLog ? 'delivery log' : 'EventBridge';
      expect(sources, name).toBe(expected);
    }
  });
});
