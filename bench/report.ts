import type { BenchReport } from './bench';
import { type CostLine, total } from './cost-model';
import { ASSUMPTIONS } from './prices';
import type { Sampled } from './support/stats';

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const kb = (bytes: number) => `${int(bytes / 1024)} KB`;
const usd = (x: number) => (x >= 0.995 ? `$${x.toFixed(2)}` : `$${x.toFixed(3)}`);
const range = (s: Sampled, f: (x: number) => string) =>
  s.runs.length > 1 ? `${f(s.median)} (${f(Math.min(...s.runs))}–${f(Math.max(...s.runs))})` : f(s.median);
const ratio = (s: Sampled) => range(s, (x) => `${Math.round(x * 100)} %`);
const times = (s: Sampled) => range(s, (x) => `${x.toPrecision(3)}×`);

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function costTable(ours: readonly CostLine[], theirs: readonly CostLine[]): string {
  const items = [...new Set([...ours, ...theirs].map((l) => l.item))];
  const find = (lines: readonly CostLine[], item: string) => lines.find((l) => l.item === item);
  const rows = items.map((item) => {
    const o = find(ours, item);
    const t = find(theirs, item);
    return [item, o ? usd(o.dollars) : '–', t ? usd(t.dollars) : '–', (o ?? t)?.basis ?? ''];
  });
  rows.push(['**Total**', `**${usd(total(ours))}**`, `**${usd(total(theirs))}**`, '']);
  return table(['Item', 'This stack', 'API destinations', 'Basis'], rows);
}

/** Renders the report as the Markdown the README quotes. */
export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(
    `Measured ${r.startedAt.slice(0, 10)} with \`npm run bench\` (size \`${r.size}\`, ${r.durationSeconds} s) on ${m.cores} × ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}; load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end (a shared machine). Figures are medians, with the range of the runs in brackets; ratios are taken run by run between measurements made back to back.`,
  );
  out.push(
    '\n**1. Redeliverer throughput, one warm instance** (real handler: middy, Powertools batch processor, INFO logs and EMF metrics, node:http keep-alive sender signing every request; in-memory queue and ledger) against a local receiver answering at once, versus a raw undici keep-alive POST loop with the same concurrency:\n',
  );
  out.push(
    table(
      [
        'Batch size',
        'Handler (records/s)',
        'Raw loop (records/s)',
        'Handler / raw',
        'Goal ≥ 60 %',
        'Handler with logs at WARN / raw',
        'Log bytes/record',
      ],
      r.redeliverer.batches.map((b) => [
        String(b.batchSize),
        range(b.handlerRecordsPerSecond, int),
        range(b.rawRecordsPerSecond, int),
        ratio(b.ratio),
        b.ratio.median >= 0.6 ? 'met' : '**not met**',
        ratio(b.quietRatio),
        String(b.logBytesPerRecord),
      ]),
    ),
  );
  out.push(
    `\nWith the real DynamoDB ledger on dynalite (batch 10, ${r.plan.dynaliteRecords} records): ${int(r.redeliverer.dynaliteLedger.recordsPerSecond.median)} records/s — the emulator, not the handler, is then the limit.`,
  );
  const e = r.endToEnd;
  out.push(
    `\n**2. End-to-end local recovery** (Genesys emulator → poller → fauxqs → event-source stand-in → redeliverer → receiver; defaults: batch 10, 4 concurrent batches locally):\n`,
  );
  out.push(
    table(
      ['Scenario', 'Local pipeline', 'Seed-style loop', 'Ratio', 'Goal'],
      [
        [
          `${int(e.deliveries)} deliveries, receiver answers at once`,
          `${range(e.pipelinePerSecond, int)} /s (${range(e.pipelineSeconds, (x) => x.toFixed(1))} s)`,
          `${range(e.seedPerSecond, int)} /s (${range(e.seedSeconds, (x) => x.toFixed(1))} s)`,
          times(e.speedup),
          e.speedup.median >= 10 ? '≥ 10×: met' : '≥ 10×: **not met**',
        ],
        [
          `${int(e.atLatency.deliveries)} deliveries, receiver answers in ${e.atLatency.latencyMs} ms (seed loop timed on the first ${e.atLatency.seedSample})`,
          `${range(e.atLatency.pipelinePerSecond, int)} /s`,
          `${range(e.atLatency.seedPerSecond, (x) => x.toPrecision(3))} /s`,
          times(e.atLatency.speedup),
          'context',
        ],
        [
          `${int(e.blackHole.deliveries)} deliveries, every other target black-holed (2 s delivery timeout): healthy half vs all healthy`,
          `${range(e.blackHole.healthyHalfPerSecond, (x) => x.toPrecision(3))} /s vs ${range(e.blackHole.allHealthyPerSecond, int)} /s`,
          '–',
          `${ratio(e.blackHole.retained)} kept`,
          e.blackHole.retained.median >= 0.8 ? 'drop ≤ 20 %: met' : 'drop ≤ 20 %: **not met**',
        ],
      ],
    ),
  );
  out.push(
    '\n**3. Cold start** (bundled with the options of lib/constructs/lambda-code.ts; `await import()` in a fresh Node process, env as deployed):\n',
  );
  out.push(
    table(
      [
        'Bundle',
        'Size',
        'Genesys SDK in it',
        'Init, source maps on (deployed)',
        'Init, source maps off',
        'Largest packages',
      ],
      r.coldStart.map((b) => [
        b.name,
        kb(b.bytes),
        b.genesysSdkBytes > 0
          ? `${kb(b.genesysSdkBytes)} (${Math.round((b.genesysSdkBytes / b.bytes) * 100)} %)`
          : '–',
        `${range(b.initMs, int)} ms`,
        `${range(b.initMsWithoutSourceMaps, int)} ms`,
        b.topPackages
          .slice(0, 3)
          .map((p) => `${p.name} ${kb(p.bytes)}`)
          .join(', '),
      ]),
    ),
  );
  const poller = r.coldStart.find((b) => b.name === 'poller');
  const sdk = r.coldStart.find((b) => b.name === 'genesys-sdk-only');
  if (poller && sdk) {
    out.push(
      `\nThe Genesys SDK alone takes ${int(sdk.initMs.median)} ms of the poller's ${int(poller.initMs.median)} ms init (≈ ${Math.round((sdk.initMs.median / poller.initMs.median) * 100)} %) and ${Math.round((poller.genesysSdkBytes / poller.bytes) * 100)} % of its bytes.`,
    );
  }
  const g = r.economy.genesys;
  const s = r.economy;
  out.push(
    '\n**4. API economy**, counted at the emulator (Genesys) and at the SDK clients (SQS, DynamoDB):\n',
  );
  out.push(
    table(
      ['Figure', 'Measured', 'Goal'],
      [
        ...g.polls.map((p) => [
          `Genesys requests, poll of ${int(p.newFailures)} new failures (next poll)`,
          `${p.logRequests} (${p.nextPollLogRequests})`,
          `≤ ${p.goal}`,
        ]),
        [`Genesys logins over ${g.pollsMade} polls`, String(g.logins), '1 per token lifetime (24 h)'],
        [
          'SQS calls per enqueued message',
          Object.entries(s.sqsPerEnqueued)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          '',
        ],
        [
          'SQS calls per delivered message',
          Object.entries(s.sqsPerDelivered)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          '',
        ],
        ['SQS billable requests (64 KB units) per delivery', String(s.sqsBillableUnitsPerDelivery), ''],
        [
          'DynamoDB calls per delivery',
          Object.entries(s.dynamoDbPerDelivery)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          '',
        ],
        [
          'DynamoDB writes (reads) per delivery, backlog older than the overlap',
          `${s.dynamoDbWritesPerDelivery} (${s.dynamoDbReadsPerDelivery})`,
          '',
        ],
        [
          `Poller's DynamoDB calls per delivery, failures arriving continuously (${s.steadyState.polls} polls a minute apart, one warm instance)`,
          Object.entries(s.steadyState.dynamoDbCallsPerDelivery)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
          'GetItem ≤ 1.5',
        ],
        ...(s.eventBridge
          ? [
              [
                `EventBridge source, ${int(s.eventBridge.events)} events of one unordered route (rule → retry queue → redeliverer): SQS, DynamoDB calls per event`,
                `${Object.entries(s.eventBridge.sqsCallsPerEvent)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}; ${Object.entries(s.eventBridge.dynamoDbCallsPerEvent)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}`,
                '',
              ],
              [
                'Same: DynamoDB writes (reads), SQS billable requests per event',
                `${s.eventBridge.writesPerEvent} (${s.eventBridge.readsPerEvent}), ${s.eventBridge.sqsUnitsPerEvent}`,
                'writes ≤ 2, reads ≤ 1',
              ],
            ]
          : []),
        ...(s.steadyStateUncached
          ? [
              [
                'Same, without the memory of settled claims (before issue 25; a cold instance every poll)',
                Object.entries(s.steadyStateUncached.dynamoDbCallsPerDelivery)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', '),
                '',
              ],
              [
                'Poller GetItem per poll of those, busy poll first (without the memory)',
                `${s.steadyState.getItemPerPoll.join(', ')} (${s.steadyStateUncached.getItemPerPoll.join(', ')})`,
                'idle ≤ 5',
              ],
            ]
          : []),
        [
          'Idle poll (nothing new)',
          `${s.idlePoll.genesysRequests} Genesys request, ${s.idlePoll.logins} logins, DynamoDB ${Object.entries(
            s.idlePoll.dynamoDbCalls,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
          '',
        ],
      ],
    ),
  );
  out.push(
    `\n**5. Cost model** (us-east-1 list prices as of ${r.cost.pricesAsOf}, free tiers ignored; prices and assumptions in bench/prices.ts; target answers in ${ASSUMPTIONS.targetLatencyMs} ms, AWS calls ${ASSUMPTIONS.awsCallMs} ms, Genesys page ${ASSUMPTIONS.genesysPageMs} ms). Per million deliveries recovered on the first redelivery:\n`,
  );
  out.push(costTable(r.cost.perMillion.thisStack, r.cost.perMillion.apiDestinations));
  out.push(
    '\nPer million Genesys events through the EventBridge source (one route each, delivered on the first attempt), next to a rule on the partner bus targeting an API destination:\n',
  );
  out.push(costTable(r.cost.eventBridgePerMillion.thisStack, r.cost.eventBridgePerMillion.apiDestinations));
  out.push('\nPer month with nothing to recover (one webhook, polled every minute):\n');
  out.push(costTable(r.cost.idlePerMonth.thisStack, r.cost.idlePerMonth.apiDestinations));
  out.push('\n**Goals**\n');
  out.push(
    table(
      ['Goal', 'Measured', 'Met'],
      r.goals.map((x) => [x.goal, x.measured, x.met ? 'yes' : '**no**']),
    ),
  );
  return `${out.join('\n')}\n`;
}
