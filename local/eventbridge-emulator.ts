import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** EventBridge's largest PutEvents entry, counted as its documentation says (see entrySize). */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** EventBridge's largest PutEvents request: 10 entries. */
const MAX_ENTRIES = 10;
/** Refuse request bodies beyond this; 10 entries of 256 KB, JSON-escaped, fit well within it. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** An event as EventBridge hands it to a rule's target. */
export interface EmulatedEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export interface EventBridgeEmulatorOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /**
   * Called with each accepted event before PutEvents answers; a rejection refuses that entry with
   * `InternalFailure`, so the sender retries it (Genesys retries for up to 4 days).
   */
  readonly onEvent: (event: EmulatedEvent) => Promise<void>;
}

export interface EventBridgeEmulator {
  /** e.g. http://127.0.0.1:4568; usable as the SDK's `endpoint` or the CLI's `--endpoint-url`. */
  readonly url: string;
  stop(): Promise<void>;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * Size of a PutEvents entry as EventBridge computes it: Time counts 14 bytes, Source, DetailType, Detail and
 * each Resources item their UTF-8 bytes.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export function entrySize(entry: Record<string, unknown>): number {
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
  const resources = Array.isArray(entry.Resources) ? entry.Resources : [];
  return (
    (entry.Time !== undefined ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    resources.reduce((sum: number, r) => sum + bytes(r), 0)
  );
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(text);
}

/** A request-level error in the JSON 1.1 protocol's shape, which the SDK turns into a typed exception. */
function fail(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { __type: type, message });
}

async function drain(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** EventBridge writes event times to the second, without fractions. */
function eventTime(time: unknown): string {
  const ms = typeof time === 'number' ? time * 1000 : Date.now();
  return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A local stand-in for EventBridge's PutEvents (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`), so the AWS SDK's
 * PutEventsCommand and `aws events put-events --endpoint-url` work against local mode. It answers like
 * EventBridge: per-entry `EventId` or `ErrorCode`/`ErrorMessage`, and `FailedEntryCount`; an entry over 256 KB
 * or without valid JSON detail is refused on its own while the others go through.
 */
export async function startEventBridgeEmulator(
  options: EventBridgeEmulatorOptions,
): Promise<EventBridgeEmulator> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) fail(res, 500, 'InternalException', String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || target === undefined) {
      return fail(res, 400, 'UnknownOperationException', 'Only POST with X-Amz-Target is served');
    }
    if (target !== 'AWSEvents.PutEvents') {
      return fail(res, 400, 'UnknownOperationException', `${String(target)} is not emulated; only PutEvents`);
    }
    const text = await drain(req);
    if (text === undefined) return fail(res, 413, 'ValidationException', 'Request body too large');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(res, 400, 'SerializationException', 'Request body is not JSON');
    }
    const entries = isRecord(body) ? body.Entries : undefined;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      return fail(
        res,
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    const results: EntryResult[] = [];
    for (const entry of entries) results.push(await putEntry(entry));
    send(res, 200, {
      FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
      Entries: results,
    });
  }

  async function putEntry(entry: unknown): Promise<EntryResult> {
    if (!isRecord(entry)) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Entry is not an object.' };
    const size = entrySize(entry);
    if (size > MAX_ENTRY_BYTES) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Event entry size of ${size} bytes exceeds the maximum of ${MAX_ENTRY_BYTES} bytes.`,
      };
    }
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry[field] !== 'string' || entry[field] === '') {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid.` };
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!isRecord(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const event: EmulatedEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType as string,
      source: entry.Source as string,
      account: '000000000000',
      time: eventTime(entry.Time),
      region: 'us-east-1',
      resources: Array.isArray(entry.Resources)
        ? entry.Resources.filter((r): r is string => typeof r === 'string')
        : [],
      detail,
    };
    try {
      await options.onEvent(event);
    } catch (error) {
      return {
        ErrorCode: 'InternalFailure',
        ErrorMessage: `The event could not be delivered to its targets; send it again (${error instanceof Error ? error.message : String(error)}).`,
      };
    }
    return { EventId: event.id };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new Error(
          `Could not start the local EventBridge endpoint on port ${options.port ?? 0} (set LOCAL_EVENTBRIDGE_PORT to use another)`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
