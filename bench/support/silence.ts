/**
 * Runs `work` with stdout and stderr swallowed, and reports how many bytes were written. The handlers log a JSON
 * line per record (as in Lambda, where the bytes are billed by CloudWatch Logs): serialising them is part of the
 * measured cost, printing them to a terminal would not be.
 */
export async function silenced<T>(work: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  let bytes = 0;
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      const callback = rest.find((r): r is () => void => typeof r === 'function');
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  try {
    const result = await work();
    return { result, bytes };
  } finally {
    streams.forEach((s, i) => {
      const original = originals[i];
      if (original) s.write = original;
    });
  }
}
