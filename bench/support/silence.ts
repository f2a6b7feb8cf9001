/**
 * Runs `work` with stdout and stderr swallowed, and reports how many bytes were written. The handlers log a JSON
 * line per record (as in Lambda, where the bytes are billed by CloudWatch Logs): serialising them is part of the
 * measured cost, printing them to a terminal would not be.
 */
export async function silenced<T>(
  work: () => Promise<T>,
  options: { capture?: boolean } = {},
): Promise<{ result: T; bytes: number; text: string }> {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  let bytes = 0;
  const captured: string[] = [];
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (options.capture)
        captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((r): r is () => void => typeof r === 'function');
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  try {
    const result = await work();
    return { result, bytes, text: captured.join('') };
  } finally {
    streams.forEach((s, i) => {
      const original = originals[i];
      if (original) s.write = original;
    });
  }
}

/**
 * The custom metrics that EMF lines in `text` publish: one per metric name and dimension set, as CloudWatch bills
 * them (a metric-month each).
 */
export function emfMetrics(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    try {
      const doc = JSON.parse(line) as {
        _aws?: { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string }[] }[] };
        [key: string]: unknown;
      };
      for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
        for (const dims of directive.Dimensions ?? [[]]) {
          const dimText = dims.map((d) => `${d}=${String(doc[d])}`).join(',');
          for (const m of directive.Metrics ?? []) out.add(`${m.Name}{${dimText}}`);
        }
      }
    } catch {}
  }
  return [...out].sort();
}
