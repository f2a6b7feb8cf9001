/**
 * The handlers log JSON lines (Powertools) and EMF metrics straight to stdout, past vitest's console capture. A
 * test that wants them wraps `process.stdout.write` itself (that wrapper sits outside this one and sees every
 * line); everything else keeps them out of npm test's output. `TEST_HANDLER_LOGS=1` prints them.
 */
if (process.env.TEST_HANDLER_LOGS !== '1') {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (!text.startsWith('{"level":') && !text.startsWith('{"_aws":')) return original(chunk, ...rest);
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }) as typeof stream.write;
  }
}
