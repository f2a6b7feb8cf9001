import { readFile, writeFile } from 'node:fs/promises';

const START = '<!-- bench:tables:start -->';
const END = '<!-- bench:tables:end -->';

/**
 * Puts the tables of the latest full run into docs/benchmarks.md, between its markers, so the page always shows
 * what `npm run bench` last measured: one copy of the figures, written by the bench itself.
 */
export async function writeDocsTables(page: string, markdown: string): Promise<void> {
  const text = await readFile(page, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`${page} has no ${START} … ${END} block for the bench tables`);
  await writeFile(page, `${text.slice(0, start + START.length)}\n${markdown.trim()}\n${text.slice(end)}`);
}
