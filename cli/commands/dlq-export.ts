import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { CliContext } from '../cli-context';
import { joinWithLedger, toExportEntry } from '../dead-letter';
import { DlqReader } from '../dlq-reader';
import { LedgerReader } from '../ledger-reader';
import { createProgressBar } from '../progress-bar';
import type { DlqScanOptions } from './dlq-list';
import { scanOutcome } from './scan-outcome';
import { queueDepth } from './status';

/** What an export wrote. */
export interface ExportSummary {
  readonly path: string;
  readonly entries: number;
}

/**
 * `dlq export --out FILE`: the dead-letter file the original design promised, a JSON array of entries with its
 * field names (see ExportEntry). Entries are written as each chunk of the DLQ is read and joined, so memory
 * stays bounded for any DLQ size; the file appears under its name only once complete (written to FILE.partial,
 * then renamed). The DLQ is left as it was.
 */
export async function dlqExportCommand(
  ctx: CliContext,
  options: DlqScanOptions & { out: string },
): Promise<number> {
  const { sqs, dlq, doc, tableName } = ctx.resources;
  const depth = await queueDepth(sqs, dlq.url);
  const reader = new DlqReader({ sqs, queueUrl: dlq.url, ...options });
  const ledger = new LedgerReader(doc, tableName);
  const partial = `${options.out}.partial`;
  const file = createWriteStream(partial, { encoding: 'utf8' });
  const write = async (text: string) => {
    if (!file.write(text)) await once(file, 'drain');
  };
  const progress = createProgressBar(ctx.err, 'exporting', depth.visible);
  let entries = 0;
  try {
    await write('[');
    for await (const chunk of joinWithLedger(reader, ledger)) {
      for (const d of chunk) {
        await write(`${entries === 0 ? '\n' : ',\n'}${JSON.stringify(toExportEntry(d))}`);
        entries += 1;
      }
      progress.update(entries, Math.max(depth.visible, entries));
    }
    await write(entries === 0 ? ']\n' : '\n]\n');
    file.end();
    await once(file, 'finish');
    await rename(partial, options.out);
  } catch (error) {
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  progress.finish();
  ctx.err.write(`${entries} dead letter(s) written to ${options.out}; the DLQ is unchanged.\n`);
  return scanOutcome(ctx, reader, 'the export');
}
