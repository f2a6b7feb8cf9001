import type { CliContext } from '../../cli/cli-context';
import type { Confirm } from '../../cli/confirm';
import type { CliResources } from '../../cli/resolve-resources';
import type { LocalAws } from '../../local/local-aws';

/** A CLI context on the emulators of a test, with its output captured. */
export interface TestCli {
  readonly ctx: CliContext;
  /** What the command wrote to stdout. */
  out(): string;
  /** What the command wrote to stderr. */
  err(): string;
}

/** Resources pointing at a test's emulators; the test owns the clients, so destroy does nothing. */
export function testResources(aws: LocalAws): CliResources {
  return {
    sqs: aws.sqs,
    doc: aws.doc,
    retryQueue: { url: aws.retryQueueUrl, arn: aws.retryQueueArn },
    dlq: { url: aws.dlqUrl, arn: aws.dlqArn },
    tableName: aws.tableName,
    extraCredentialHeaders: [],
    local: true,
    where: 'test emulators',
    destroy: () => undefined,
  };
}

/** A context whose confirmation answers `answer` (default yes) and whose output is kept for assertions. */
export function testCli(aws: LocalAws, answer: Confirm = async () => true): TestCli {
  let out = '';
  let err = '';
  return {
    ctx: {
      resources: testResources(aws),
      out: { write: (t: string) => (out += t) },
      err: { write: (t: string) => (err += t), isTTY: false },
      confirm: answer,
      now: () => new Date(),
    },
    out: () => out,
    err: () => err,
  };
}
