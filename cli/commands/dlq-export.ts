import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type FileHandle, lstat, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OperatorError } from '../../lambdas/shared/errors';
import type { CliContext } from '../cli-context';
import { joinWithLedger, toExportEntry } from '../dead-letter';
import { LedgerReader } from '../ledger-reader';
import { createProgressBar } from '../progress-bar';
import { stoppable } from '../stoppable';
import { type DlqScanOptions, openDlqReader } from './dlq-list';
import { scanComplete, scanOutcome } from './scan-outcome';
import { queueDepth } from './status';

/** What an export wrote. */
export interface ExportSummary {
  readonly path: string;
  readonly entries: number;
}

/**
 * Checks --out before the DLQ is touched: its folder exists, and it is a new name or an existing regular file
 * (never a folder, a symbolic link or a device). Anything the export cannot finish fails here, with nothing read.
 */
export async function checkExportTarget(out: string): Promise<void> {
  const folder = dirname(out);
  const folderStat = await stat(folder).catch(() => undefined);
  if (!folderStat) throw new OperatorError(`--out ${out}: folder ${folder} does not exist (create it first)`);
  if (!folderStat.isDirectory()) throw new OperatorError(`--out ${out}: ${folder} is not a folder`);
  const existing = await lstat(out).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new OperatorError(`--out ${out} is a folder: give a file name, such as ${join(out, 'dlq.json')}`);
  }
  if (existing && !existing.isFile()) {
    throw new OperatorError(
      `--out ${out} exists and is not a regular file (${existing.isSymbolicLink() ? 'a symbolic link' : 'a special file'}): give another name`,
    );
  }
}

/** Creates the temporary file beside FILE: a fresh random name, created exclusively (O_EXCL), mode 0600. */
export async function createPartial(
  out: string,
  suffix: string = randomBytes(6).toString('hex'),
): Promise<{ path: string; handle: FileHandle }> {
  const path = join(dirname(out), `.${basename(out)}.${suffix}.partial`);
  try {
    // 'wx' is O_CREAT | O_EXCL: it fails on any existing path, a planted symbolic link included, and never
    // follows one. The mode is set again after creation: the umask can only narrow it, but a file system may
    // ignore the mode given to open.
    const handle = await open(path, 'wx', 0o600);
    await handle.chmod(0o600);
    return { path, handle };
  } catch (error) {
    throw new OperatorError(
      `--out ${out}: cannot create ${path} (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  }
}

/**
 * `dlq export --out FILE`: the dead-letter file the original design promised, a JSON array of entries with its
 * field names (see ExportEntry). Entries are written as each chunk of the DLQ is read and joined, so memory
 * stays bounded for any DLQ size. The file is private (mode 0600: it holds payloads, and credential headers when
 * they are forwarded) and appears under its name only once complete; an incomplete export never replaces an
 * existing FILE. The DLQ is left as it was; if it cannot be, the reader says until when messages stay hidden.
 */
export async function dlqExportCommand(
  ctx: CliContext,
  options: DlqScanOptions & { out: string },
): Promise<number> {
  const out = resolve(options.out);
  await checkExportTarget(out);
  return stoppable(() => exportTo(ctx, options, out));
}

/** The export itself, once --out is known to be usable; Ctrl-C (ctx.signal) leaves nothing at `out`. */
async function exportTo(ctx: CliContext, options: DlqScanOptions, out: string): Promise<number> {
  const { sqs, dlq, doc, tableName } = ctx.resources;
  const depth = await queueDepth(sqs, dlq.url);
  const reader = openDlqReader(ctx, options);
  const ledger = new LedgerReader(doc, tableName);
  const partial = await createPartial(out);
  const file = partial.handle.createWriteStream({ encoding: 'utf8' });
  // A write error must reach the loop below, never crash the process as an unhandled 'error' event.
  let writeError: Error | undefined;
  file.on('error', (error) => {
    writeError = error;
  });
  const write = async (text: string) => {
    if (writeError) throw writeError;
    // events.once rejects if 'error' comes first.
    if (!file.write(text)) await once(file, 'drain');
    if (writeError) throw writeError;
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
    await once(file, 'close');
    if (writeError) throw writeError;
  } catch (error) {
    file.destroy();
    await rm(partial.path, { force: true });
    throw error;
  }
  progress.finish();
  const code = scanOutcome(ctx, reader, 'the export');
  if (ctx.signal?.aborted) {
    // An interrupted export is never written, whether or not FILE existed: the operator asked it to stop.
    await rm(partial.path, { force: true });
    ctx.err.write(
      `Interrupted: nothing was written to ${out}${(await lstat(out).catch(() => undefined)) ? ' (it was left as it was)' : ''}.\n`,
    );
    return 130;
  }
  if (!scanComplete(reader) && (await lstat(out).catch(() => undefined))) {
    await rm(partial.path, { force: true });
    ctx.err.write(`The export is incomplete, so ${out} was left as it was.\n`);
    return 1;
  }
  await rename(partial.path, out);
  ctx.err.write(
    `${entries} dead letter(s) written to ${out}${scanComplete(reader) ? '; the DLQ is unchanged' : ' (incomplete, see above)'}.\n`,
  );
  return code;
}
