import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { OrdersStack } from '../../examples/existing-stack/orders-stack';
import { processEnvironment } from '../../lambdas/shared/settings';
import { nagFindings } from './nag-findings';
import { cdkJsonContext } from './synth-stack';
import { byType } from './template-queries';

const run = promisify(execFile);
const projectRoot = new URL('../../', import.meta.url).pathname;
const outdirs: string[] = [];
afterAll(async () => {
  await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('examples/existing-stack: the construct next to a bus and a queue of an existing stack', () => {
  it('synthesises with zero cdk-nag findings (AwsSolutions and Serverless packs, as bin/app.ts)', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new OrdersStack(app, 'Orders');
    expect(nagFindings(app)).toEqual([]);

    const template = Template.fromStack(stack);
    // The routes' rules sit on the stack's own bus; the alarms reach the stack's own queue.
    const rules = byType(template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(3);
    for (const [, rule] of rules) {
      expect(stack.resolve(rule.Properties.EventBusName)).toEqual(stack.resolve(stack.bus.eventBusName));
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: stack.resolve(stack.notices.queueArn),
      TopicArn: stack.resolve(stack.recovery.alarmTopic.topicArn),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Orders-retry' });
  });

  it('runs as an app (app.ts), the way `cdk synth --app` runs it', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'example-'));
    outdirs.push(outdir);
    const env = Object.fromEntries(
      Object.entries(processEnvironment()).filter(
        ([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_'),
      ),
    );
    await run(process.execPath, ['--import', 'tsx', 'examples/existing-stack/app.ts'], {
      cwd: projectRoot,
      env: {
        ...env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] }),
      },
      maxBuffer: 1 << 24,
    });
    const template = JSON.parse(await readFile(join(outdir, 'Orders.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types).toContain('AWS::Events::EventBus');
    // The poller, the redeliverer, and the intake its ordered route needs.
    expect(types.filter((t) => t === 'AWS::Lambda::Function').length).toBe(3);
  });
});
