import type { InitializeHandler, InitializeHandlerArguments, MiddlewareStack } from '@smithy/types';

/**
 * Counts AWS SDK commands by name at the client, with the payload bytes SQS bills in 64 KB units. Counting at
 * the client (not at the emulator) sees exactly the calls the deployed code would make, retries included.
 */
export class CommandCounter {
  readonly calls: Record<string, number> = {};
  /** Billable 64 KB units per command name, computed from the message bodies sent or received. */
  readonly sqsBillableUnits: Record<string, number> = {};
  /** Total message-body bytes per SQS command name. */
  readonly sqsPayloadBytes: Record<string, number> = {};

  /** Adds the counting middleware to a client's stack (SQSClient, DynamoDBClient, DynamoDBDocumentClient). */
  attach<I extends object, O extends object>(stack: MiddlewareStack<I, O>): void {
    stack.add(
      <Output extends O>(next: InitializeHandler<I, Output>, context: { commandName?: string }) =>
        async (args: InitializeHandlerArguments<I>) => {
          const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
          this.calls[name] = (this.calls[name] ?? 0) + 1;
          const result = await next(args);
          this.#bill(name, args.input, result.output);
          return result;
        },
      { step: 'initialize', name: 'benchCommandCounter', override: true },
    );
  }

  /** Calls of one command, 0 when never made. */
  count(name: string): number {
    return this.calls[name] ?? 0;
  }

  /** A copy of the counts, for a before/after difference. */
  snapshot(): Record<string, number> {
    return { ...this.calls };
  }

  /** SQS bills each request by its payload, one request per started 64 KB chunk. */
  #bill(name: string, input: unknown, output: unknown): void {
    const bodies = messageBodies(name, input, output);
    if (bodies === undefined) return;
    const bytes = bodies.reduce((sum, b) => sum + Buffer.byteLength(b, 'utf8'), 0);
    this.sqsPayloadBytes[name] = (this.sqsPayloadBytes[name] ?? 0) + bytes;
    this.sqsBillableUnits[name] = (this.sqsBillableUnits[name] ?? 0) + Math.max(1, Math.ceil(bytes / 65_536));
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function bodiesOf(list: unknown, key: string): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((entry: unknown) => field(entry, key)).filter((b): b is string => typeof b === 'string');
}

/** The message bodies SQS counts for billing, or undefined for a command that is not an SQS message call. */
function messageBodies(name: string, input: unknown, output: unknown): string[] | undefined {
  switch (name) {
    case 'SendMessageBatch':
      return bodiesOf(field(input, 'Entries'), 'MessageBody');
    case 'SendMessage': {
      const body = field(input, 'MessageBody');
      return typeof body === 'string' ? [body] : [];
    }
    case 'ReceiveMessage':
      return bodiesOf(field(output, 'Messages'), 'Body');
    case 'DeleteMessageBatch':
    case 'DeleteMessage':
    case 'ChangeMessageVisibility':
    case 'ChangeMessageVisibilityBatch':
      return [];
    default:
      return undefined;
  }
}
