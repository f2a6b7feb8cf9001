import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench';
import { renderMarkdown } from '../../bench/report';

/**
 * The benchmark at its smoke size: it runs end to end and produces a well-formed report. Timings are not
 * asserted (this machine is shared and a test is no place for a speed claim); shapes and counts are.
 */
describe('npm run bench at smoke size', () => {
  it('measures every section and reports well-formed figures', async () => {
    const report = await runBench('smoke');
    const json: unknown = JSON.parse(JSON.stringify(report));
    expect(json).toMatchObject({ size: 'smoke', machine: { node: expect.stringMatching(/^v24\./) } });

    for (const b of report.redeliverer.batches) {
      expect(b.handlerRecordsPerSecond.median).toBeGreaterThan(0);
      expect(b.rawRecordsPerSecond.median).toBeGreaterThan(0);
      expect(b.logBytesPerRecord).toBeGreaterThan(0);
    }
    expect(report.endToEnd.pipelinePerSecond.median).toBeGreaterThan(0);
    expect(report.endToEnd.seedPerSecond.median).toBeGreaterThan(0);
    expect(report.endToEnd.blackHole.healthyHalfPerSecond.median).toBeGreaterThan(0);
    expect(report.coldStart.map((b) => b.name)).toEqual(['redeliverer', 'poller', 'genesys-sdk-only']);
    expect(report.coldStart.find((b) => b.name === 'redeliverer')?.genesysSdkBytes).toBe(0);

    // Counts are exact, whatever the machine's speed.
    const { genesys } = report.economy;
    expect(genesys.logins).toBe(1);
    for (const p of genesys.polls) expect(p.logRequests).toBeLessThanOrEqual(p.goal);
    expect(report.economy.sqsPerEnqueued.SendMessageBatch).toBe(0.1);
    // Poller: claim, confirm; redeliverer: claim, settle (the lifecycle's conditional writes); plus the poll
    // lease's take and release (two writes a poll) and the target gate's few per host (4 instances racing for the
    // first probe of a host nobody has seen, its answer), spread over the run's deliveries.
    expect(report.economy.dynamoDbWritesPerDelivery).toBeGreaterThanOrEqual(4);
    expect(report.economy.dynamoDbWritesPerDelivery).toBeLessThan(4.1);
    expect(report.economy.idlePoll.genesysRequests).toBe(1);
    // Issue 25: a warm poller asks the ledger once per entry; without its memory, once per listing.
    const { steadyState, steadyStateUncached } = report.economy;
    expect(steadyState.getItemPerPoll[1]).toBeLessThanOrEqual(5);
    expect(steadyState.dynamoDbCallsPerDelivery.GetItem).toBeLessThanOrEqual(1.5);
    expect(steadyStateUncached.dynamoDbCallsPerDelivery.GetItem).toBeGreaterThan(5);
    expect(steadyState.dynamoDbCallsPerDelivery.PutItem).toBe(
      steadyStateUncached.dynamoDbCallsPerDelivery.PutItem,
    );
    expect(report.economy.idlePoll.dynamoDbCalls.GetItem).toBeLessThanOrEqual(5);

    expect(report.cost.perMillion.thisStack.every((l) => Number.isFinite(l.dollars) && l.dollars >= 0)).toBe(
      true,
    );
    expect(report.goals.length).toBeGreaterThanOrEqual(8);
    expect(renderMarkdown(report)).toContain('| Batch size |');
  }, 180_000);
});
