import { cpus, loadavg, release, totalmem } from 'node:os';
import {
  compareSteadyStateWrites,
  type GenesysEconomy,
  measureGenesysEconomy,
  type SteadyStateWrites,
  settledClaimGoals,
} from './api-economy';
import { type BundleFigures, measureColdStart } from './cold-start';
import { type CostModel, costModel } from './cost-model';
import { type PipelineRun, runPipeline, runSeedLoop, type SeedRun } from './end-to-end';
import { dynaliteLedgerPass, type Pass, throughputPair } from './redeliverer-throughput';
import { type Receivers, startReceivers } from './support/receivers';
import { type Sampled, sampled, sig } from './support/stats';

/** How big a run is. `smoke` proves the benchmark works (CI); `full` is what the README quotes. */
export type BenchSize = 'smoke' | 'full';

interface SizePlan {
  readonly runs: number;
  readonly throughputRecords: number;
  readonly dynaliteRecords: number;
  readonly e2eDeliveries: number;
  readonly latencyMs: number;
  readonly latencyDeliveries: number;
  readonly seedSampleAtLatency: number;
  readonly blackHoleDeliveries: number;
  readonly coldStartRuns: number;
  readonly economySizes: readonly number[];
  readonly steadyStateDeliveries: number;
  /** Events put through the EventBridge source (rules straight to the retry queue) to count its AWS calls. */
  readonly eventBridgeEvents: number;
}

const PLANS: Record<BenchSize, SizePlan> = {
  smoke: {
    runs: 1,
    throughputRecords: 200,
    dynaliteRecords: 60,
    e2eDeliveries: 200,
    latencyMs: 20,
    latencyDeliveries: 200,
    seedSampleAtLatency: 40,
    blackHoleDeliveries: 40,
    coldStartRuns: 1,
    economySizes: [0, 1, 250],
    steadyStateDeliveries: 30,
    eventBridgeEvents: 50,
  },
  full: {
    runs: 3,
    throughputRecords: 5_000,
    dynaliteRecords: 1_000,
    e2eDeliveries: 10_000,
    latencyMs: 100,
    latencyDeliveries: 5_000,
    seedSampleAtLatency: 250,
    // The same 10,000 deliveries as the end-to-end run, as issue 5 describes it: a short run is dominated by the
    // first stall (every lane waits one timeout before the circuit opens), a long one shows the steady state.
    blackHoleDeliveries: 10_000,
    coldStartRuns: 7,
    economySizes: [0, 1, 99, 100, 101, 250, 1_000, 10_000],
    steadyStateDeliveries: 200,
    eventBridgeEvents: 1_000,
  },
};

/** One goal of issue 5, with the measured figure. */
export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Everything one `npm run bench` measured; written as JSON and rendered as the README's tables. */
export interface BenchReport {
  readonly size: BenchSize;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGb: number;
    readonly os: string;
    readonly node: string;
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
  };
  readonly plan: SizePlan;
  readonly redeliverer: {
    readonly batches: readonly {
      readonly batchSize: number;
      readonly handlerRecordsPerSecond: Sampled;
      /** The handler with its logger at WARN: no JSON line per delivered record. */
      readonly quietHandlerRecordsPerSecond: Sampled;
      readonly rawRecordsPerSecond: Sampled;
      /** Median of the per-run ratios handler / raw (each run's two passes side by side). */
      readonly ratio: Sampled;
      /** The same for the handler with its logger at WARN. */
      readonly quietRatio: Sampled;
      readonly logBytesPerRecord: number;
    }[];
    readonly dynaliteLedger: { readonly batchSize: number; readonly recordsPerSecond: Sampled };
  };
  readonly endToEnd: {
    readonly deliveries: number;
    readonly pipelinePerSecond: Sampled;
    readonly seedPerSecond: Sampled;
    readonly speedup: Sampled;
    readonly pipelineSeconds: Sampled;
    readonly seedSeconds: Sampled;
    readonly atLatency: {
      readonly latencyMs: number;
      readonly deliveries: number;
      readonly seedSample: number;
      readonly pipelinePerSecond: Sampled;
      readonly seedPerSecond: Sampled;
      readonly speedup: Sampled;
    };
    readonly blackHole: {
      readonly deliveries: number;
      readonly allHealthyPerSecond: Sampled;
      readonly healthyHalfPerSecond: Sampled;
      /** Healthy-half throughput relative to the all-healthy run; the goal is ≥ 0.8. */
      readonly retained: Sampled;
      readonly swallowedRequests: Sampled;
    };
  };
  readonly coldStart: readonly BundleFigures[];
  readonly economy: {
    readonly genesys: GenesysEconomy;
    readonly sqsPerEnqueued: Record<string, number>;
    readonly sqsPerDelivered: Record<string, number>;
    readonly sqsBillableUnitsPerDelivery: number;
    readonly dynamoDbPerDelivery: Record<string, number>;
    readonly dynamoDbWritesPerDelivery: number;
    readonly dynamoDbReadsPerDelivery: number;
    readonly eventItemBytes: number;
    readonly idlePoll: PipelineRun['idlePoll'];
    /** The poller's ledger calls when failures arrive continuously (re-listed by overlapping polls). */
    readonly steadyState: SteadyStateWrites;
    /** The same polls with the poller's memory of settled claims turned off: what every poll cost before it. */
    readonly steadyStateUncached: SteadyStateWrites;
    /** Events through the EventBridge source, counted at the clients. */
    readonly eventBridge?: EventBridgeRun;
  };
  readonly cost: CostModel;
  readonly goals: readonly Goal[];
}

import { type EventBridgeRun, runEventBridge } from './eventbridge-run';
import { templateCounts } from './template-counts';

const per = (counts: Record<string, number>, n: number): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, sig(v / n, 3)]));

/** Runs every benchmark of issue 5 at the given size and returns the report (the caller prints and saves it). */
export async function runBench(
  size: BenchSize,
  progress: (line: string) => void = () => undefined,
  overrideRuns?: number,
): Promise<BenchReport> {
  const plan = { ...PLANS[size], ...(overrideRuns ? { runs: overrideRuns } : {}) };
  const startedAt = new Date();
  const loadAverageAtStart = loadavg().map((l) => sig(l, 2));
  const receivers = await startReceivers();
  try {
    // 1. Redeliverer throughput, handler and raw loop side by side, alternating which goes first.
    const batches = await redelivererBatches(receivers, plan, size, progress);
    const dynalite = await dynaliteLedgerPass(receivers, plan.dynaliteRecords, 10);
    progress('redeliverer with the dynalite ledger: done');

    // 2. End to end: pipeline and seed loop on the same deliveries and receiver, back to back.
    const pipelines: PipelineRun[] = [];
    const seeds: SeedRun[] = [];
    for (let r = 0; r < plan.runs; r += 1) {
      const pipelineRun = () =>
        runPipeline({ receivers, deliveries: plan.e2eDeliveries, timeoutMs: 600_000 });
      const seedRun = () => runSeedLoop({ receivers, deliveries: plan.e2eDeliveries });
      if (r % 2 === 0) {
        pipelines.push(await pipelineRun());
        seeds.push(await seedRun());
      } else {
        seeds.push(await seedRun());
        pipelines.push(await pipelineRun());
      }
      progress(
        `end to end, run ${r + 1}: pipeline ${Math.round(pipelines.at(-1)?.healthyPerSecond ?? 0)}/s, seed ${Math.round(seeds.at(-1)?.perSecond ?? 0)}/s`,
      );
    }
    await receivers.setLatency(plan.latencyMs);
    const slowPipelines: PipelineRun[] = [];
    const slowSeeds: SeedRun[] = [];
    for (let r = 0; r < plan.runs; r += 1) {
      slowSeeds.push(
        await runSeedLoop({ receivers, deliveries: plan.latencyDeliveries, limit: plan.seedSampleAtLatency }),
      );
      slowPipelines.push(
        await runPipeline({ receivers, deliveries: plan.latencyDeliveries, timeoutMs: 600_000 }),
      );
      progress(`end to end at ${plan.latencyMs} ms, run ${r + 1}: done`);
    }
    await receivers.setLatency(0);
    const healthyRuns: PipelineRun[] = [];
    const blackHoleRuns: PipelineRun[] = [];
    for (let r = 0; r < plan.runs; r += 1) {
      const all = () => runPipeline({ receivers, deliveries: plan.blackHoleDeliveries, timeoutMs: 600_000 });
      const half = () =>
        runPipeline({
          receivers,
          deliveries: plan.blackHoleDeliveries,
          blackHoleEvery: 2,
          timeoutMs: 600_000,
        });
      if (r % 2 === 0) {
        healthyRuns.push(await all());
        blackHoleRuns.push(await half());
      } else {
        blackHoleRuns.push(await half());
        healthyRuns.push(await all());
      }
      progress(`black-holed half, run ${r + 1}: done`);
    }

    // 3. Cold start.
    const coldStart = await measureColdStart(plan.coldStartRuns);
    progress('cold start: done');

    // 4. API economy: Genesys per poll; SQS and DynamoDB from the first full end-to-end run.
    const genesys = await measureGenesysEconomy(plan.economySizes);
    const { cached: steadyState, uncached: steadyStateUncached } = await compareSteadyStateWrites(
      plan.steadyStateDeliveries,
    );
    const eventBridge = await runEventBridge(receivers, plan.eventBridgeEvents, 600_000);
    progress('API economy: done');
    const counted = pipelines[0];
    if (!counted) throw new Error('no end-to-end run to count calls from');
    const n = counted.healthy;
    const sqsPerDelivered = per(
      Object.fromEntries(Object.entries(counted.sqsCalls).filter(([k]) => k !== 'SendMessageBatch')),
      n,
    );
    const sqsBillableUnitsPerDelivery = sig(
      Object.values(counted.sqsUnits).reduce((s, v) => s + v, 0) / n,
      3,
    );
    const writes = (counted.dynamoDbCalls.PutItem ?? 0) + (counted.dynamoDbCalls.UpdateItem ?? 0);
    const reads = counted.dynamoDbCalls.GetItem ?? 0;
    const economy: BenchReport['economy'] = {
      genesys,
      sqsPerEnqueued: per({ SendMessageBatch: counted.sqsCalls.SendMessageBatch ?? 0 }, counted.enqueued),
      sqsPerDelivered,
      sqsBillableUnitsPerDelivery,
      dynamoDbPerDelivery: per(counted.dynamoDbCalls, n),
      dynamoDbWritesPerDelivery: sig(writes / n, 3),
      dynamoDbReadsPerDelivery: sig(reads / n, 3),
      eventItemBytes: counted.eventItemBytes,
      idlePoll: counted.idlePoll,
      steadyState,
      steadyStateUncached,
      eventBridge,
    };
    const pollerReads = steadyState.dynamoDbCallsPerDelivery.GetItem ?? 0;
    // The redeliverer's own writes (claim and settle) are what the end-to-end run counted beyond the poller's.
    const redelivererWrites = sig((counted.dynamoDbCalls.UpdateItem ?? 0) / n - 1, 3);

    // 5. Cost.
    const redeliverer10 = batches[0];
    const pollerBundle = coldStart.find((b) => b.name === 'poller');
    const redelivererBundle = coldStart.find((b) => b.name === 'redeliverer');
    const cost = costModel({
      handlerRecordsPerSecond: redeliverer10?.handlerRecordsPerSecond.median ?? 1,
      redelivererLogBytesPerRecord: redeliverer10?.logBytesPerRecord ?? 0,
      sqsUnitsPerDelivery: sqsBillableUnitsPerDelivery,
      dynamoDbWritesPerDelivery: steadyState.writesPerDelivery + redelivererWrites,
      pollerWritesPerDelivery: steadyState.writesPerDelivery,
      // The end-to-end run's reads (its poller lists each delivery once, the redeliverer reads each) plus the
      // poller's re-listings when failures arrive continuously.
      dynamoDbReadsPerDelivery: sig(economy.dynamoDbReadsPerDelivery + pollerReads, 3),
      pollerReadsPerDelivery: pollerReads,
      eventBridgeWritesPerEvent: eventBridge.writesPerEvent,
      eventBridgeReadsPerEvent: eventBridge.readsPerEvent,
      eventBridgeSqsUnitsPerEvent: eventBridge.sqsUnitsPerEvent,
      eventItemBytes: economy.eventItemBytes,
      idlePollDynamoDbWrites:
        (counted.idlePoll.dynamoDbCalls.UpdateItem ?? 0) + (counted.idlePoll.dynamoDbCalls.PutItem ?? 0),
      idlePollDynamoDbReads: counted.idlePoll.dynamoDbCalls.GetItem ?? 0,
      idlePollLogBytes: genesys.idlePollLogBytes,
      idlePollGenesysRequests: counted.idlePoll.genesysRequests,
      pollerInitMs: pollerBundle?.initMs.median ?? 0,
      redelivererInitMs: redelivererBundle?.initMs.median ?? 0,
      ...templateCounts(),
      pollerMetricsPerPoll: genesys.idlePollMetrics.length,
      pollerMetricNames: genesys.idlePollMetrics.map((m) => m.replace(/\{service=[^,}]*,?/, '{')),
    });

    const speedup = pipelines.map((p, i) => p.healthyPerSecond / (seeds[i]?.perSecond ?? Number.NaN));
    const slowSpeedup = slowPipelines.map(
      (p, i) => p.healthyPerSecond / (slowSeeds[i]?.perSecond ?? Number.NaN),
    );
    const retained = blackHoleRuns.map(
      (b, i) => b.healthyPerSecond / (healthyRuns[i]?.healthyPerSecond ?? Number.NaN),
    );
    const endToEnd: BenchReport['endToEnd'] = {
      deliveries: plan.e2eDeliveries,
      pipelinePerSecond: sampled(pipelines.map((p) => p.healthyPerSecond)),
      seedPerSecond: sampled(seeds.map((s) => s.perSecond)),
      speedup: sampled(speedup),
      pipelineSeconds: sampled(pipelines.map((p) => p.elapsedMs / 1000)),
      seedSeconds: sampled(seeds.map((s) => s.elapsedMs / 1000)),
      atLatency: {
        latencyMs: plan.latencyMs,
        deliveries: plan.latencyDeliveries,
        seedSample: plan.seedSampleAtLatency,
        pipelinePerSecond: sampled(slowPipelines.map((p) => p.healthyPerSecond)),
        seedPerSecond: sampled(slowSeeds.map((s) => s.perSecond)),
        speedup: sampled(slowSpeedup),
      },
      blackHole: {
        deliveries: plan.blackHoleDeliveries,
        allHealthyPerSecond: sampled(healthyRuns.map((p) => p.healthyPerSecond)),
        healthyHalfPerSecond: sampled(blackHoleRuns.map((p) => p.healthyPerSecond)),
        retained: sampled(retained),
        swallowedRequests: sampled(blackHoleRuns.map((p) => p.swallowed)),
      },
    };
    const goals = [
      ...evaluateGoals(batches, endToEnd, coldStart, genesys),
      ...settledClaimGoals({ cached: steadyState, uncached: steadyStateUncached }, counted.idlePoll),
    ];
    return {
      size,
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGb: Math.round(totalmem() / 1024 ** 3),
        os: `${process.platform} ${release()} ${process.arch}`,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg().map((l) => sig(l, 2)),
      },
      plan,
      redeliverer: {
        batches,
        dynaliteLedger: { batchSize: 10, recordsPerSecond: sampled([dynalite.recordsPerSecond]) },
      },
      endToEnd,
      coldStart,
      economy,
      cost,
      goals,
    };
  } finally {
    await receivers.stop();
  }
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

type BatchFigures = BenchReport['redeliverer']['batches'][number];

/** Section 1 alone: the handler and the raw loop side by side at batch 10 and 100 (5 runs at least in full). */
async function redelivererBatches(
  receivers: Receivers,
  plan: SizePlan,
  size: BenchSize,
  progress: (line: string) => void,
): Promise<BatchFigures[]> {
  const batches: BatchFigures[] = [];
  for (const batchSize of [10, 100]) {
    const pairs: { handler: Pass; handlerQuiet: Pass; raw: Pass }[] = [];
    for (let r = 0; r < Math.max(plan.runs, size === 'full' ? 5 : 1); r += 1) {
      pairs.push(await throughputPair(receivers, plan.throughputRecords, batchSize, r % 2 === 0));
    }
    batches.push({
      batchSize,
      handlerRecordsPerSecond: sampled(pairs.map((p) => p.handler.recordsPerSecond)),
      quietHandlerRecordsPerSecond: sampled(pairs.map((p) => p.handlerQuiet.recordsPerSecond)),
      rawRecordsPerSecond: sampled(pairs.map((p) => p.raw.recordsPerSecond)),
      ratio: sampled(pairs.map((p) => p.handler.recordsPerSecond / p.raw.recordsPerSecond)),
      quietRatio: sampled(pairs.map((p) => p.handlerQuiet.recordsPerSecond / p.raw.recordsPerSecond)),
      logBytesPerRecord: Math.round(pairs[0]?.handler.logBytesPerRecord ?? 0),
    });
    progress(`redeliverer batch ${batchSize}: done`);
  }
  return batches;
}

/** The sections `npm run bench -- --only <part>` runs alone (no report is written, nothing else is measured). */
export type BenchPart = 'throughput' | 'cold-start';

/**
 * Runs one section alone and returns its lines for the terminal: the quick loop while working on the redeliverer
 * (its throughput ratios, its init time), with the same functions and sizes as the full run.
 */
export async function runPart(
  part: BenchPart,
  size: BenchSize,
  progress: (line: string) => void = () => undefined,
  overrideRuns?: number,
): Promise<string[]> {
  const plan = { ...PLANS[size], ...(overrideRuns ? { runs: overrideRuns } : {}) };
  const range = (s: Sampled, f: (x: number) => string) =>
    `${f(s.median)} (${f(Math.min(...s.runs))}–${f(Math.max(...s.runs))})`;
  if (part === 'cold-start') {
    const figures = await measureColdStart(plan.coldStartRuns);
    return figures.map(
      (b) =>
        `${b.name}: ${Math.round(b.bytes / 1024)} KB, init ${range(b.initMs, (x) => `${Math.round(x)}`)} ms with source maps, ${range(b.initMsWithoutSourceMaps, (x) => `${Math.round(x)}`)} ms without`,
    );
  }
  const receivers = await startReceivers();
  try {
    const batches = await redelivererBatches(receivers, plan, size, progress);
    return batches.map(
      (b) =>
        `batch ${b.batchSize}: handler / raw ${range(b.ratio, pct)}, at WARN ${range(b.quietRatio, pct)}; ${Math.round(b.handlerRecordsPerSecond.median)} vs ${Math.round(b.rawRecordsPerSecond.median)} records/s; ${b.logBytesPerRecord} log bytes per record`,
    );
  } finally {
    await receivers.stop();
  }
}

function evaluateGoals(
  batches: BenchReport['redeliverer']['batches'],
  e2e: BenchReport['endToEnd'],
  coldStart: readonly BundleFigures[],
  genesys: GenesysEconomy,
): Goal[] {
  const goals: Goal[] = batches.map((b) => ({
    goal: `Redeliverer at batch ${b.batchSize} ≥ 60 % of a raw keep-alive POST loop`,
    measured: `${pct(b.ratio.median)} (${Math.round(b.handlerRecordsPerSecond.median)} vs ${Math.round(b.rawRecordsPerSecond.median)} records/s)`,
    met: b.ratio.median >= 0.6,
  }));
  goals.push({
    goal: `End to end, ${e2e.deliveries} deliveries: local pipeline ≥ 10× the seed-style sequential loop`,
    measured: `${e2e.speedup.median}× (${Math.round(e2e.pipelinePerSecond.median)} vs ${Math.round(e2e.seedPerSecond.median)} deliveries/s)`,
    met: e2e.speedup.median >= 10,
  });
  goals.push({
    goal: `Same, targets answering in ${e2e.atLatency.latencyMs} ms (not in the issue; context)`,
    measured: `${e2e.atLatency.speedup.median}× (${Math.round(e2e.atLatency.pipelinePerSecond.median)} vs ${sig(e2e.atLatency.seedPerSecond.median, 3)} deliveries/s)`,
    met: e2e.atLatency.speedup.median >= 10,
  });
  goals.push({
    goal: 'Half the targets black-holed: healthy half keeps ≥ 80 % of its throughput',
    measured: `${pct(e2e.blackHole.retained.median)} (${sig(e2e.blackHole.healthyHalfPerSecond.median, 3)} vs ${Math.round(e2e.blackHole.allHealthyPerSecond.median)} deliveries/s)`,
    met: e2e.blackHole.retained.median >= 0.8,
  });
  const redeliverer = coldStart.find((b) => b.name === 'redeliverer');
  if (redeliverer) {
    goals.push({
      goal: 'Redeliverer bundle ≤ 500 KB',
      measured: `${Math.round(redeliverer.bytes / 1024)} KB`,
      met: redeliverer.bytes <= 500 * 1024,
    });
    goals.push({
      goal: 'Redeliverer init ≤ 50 ms (median, fresh Node process, source maps on as deployed)',
      measured: `${Math.round(redeliverer.initMs.median)} ms (${Math.round(redeliverer.initMsWithoutSourceMaps.median)} ms without source maps)`,
      met: redeliverer.initMs.median <= 50,
    });
  }
  const worst = genesys.polls.reduce((ok, p) => ok && p.logRequests <= p.goal, true);
  goals.push({
    goal: 'Genesys calls per poll of n new failures ≤ 1 + ⌈n/100⌉, plus one login per token lifetime',
    measured: `${genesys.polls.map((p) => `n=${p.newFailures}: ${p.logRequests}`).join(', ')}; ${genesys.logins} login for ${genesys.pollsMade} polls`,
    met: worst && genesys.logins === 1,
  });
  return goals;
}
