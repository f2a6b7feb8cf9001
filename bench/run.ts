import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchPart, type BenchSize, runBench, runPart } from './bench';
import { writeDocsTables } from './docs-tables';
import { renderMarkdown } from './report';

/**
 * `npm run bench [-- --size smoke|full] [--runs N] [--out file.json]`: runs the benchmarks of issue 5, prints
 * the tables and writes the report as JSON (and Markdown beside it). A full run writes bench/results/latest.*;
 * a smoke run writes to the temporary directory unless --out says otherwise, so CI never overwrites the
 * figures the README quotes. `--only throughput|cold-start` runs that section alone and only prints it.
 */
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    runs: { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const PARTS: readonly BenchPart[] = ['throughput', 'cold-start'];
if (values.size !== 'smoke' && values.size !== 'full') {
  console.error(`--size must be smoke or full (got ${JSON.stringify(values.size)})`);
  process.exit(2);
}
const size: BenchSize = values.size;
const runs = values.runs === undefined ? undefined : Number(values.runs);
if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
  console.error(`--runs must be a whole number of at least 1 (got ${JSON.stringify(values.runs)})`);
  process.exit(2);
}
const started = Date.now();
const progress = (line: string) =>
  console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
if (values.only !== undefined) {
  const part = PARTS.find((p) => p === values.only);
  if (!part) {
    console.error(`--only must be one of ${PARTS.join(', ')} (got ${JSON.stringify(values.only)})`);
    process.exit(2);
  }
  for (const line of await runPart(part, size, progress, runs)) console.log(line);
  process.exit(0);
}
const out =
  values.out ??
  (size === 'full'
    ? fileURLToPath(new URL('./results/latest.json', import.meta.url))
    : join(tmpdir(), 'genesys-webhook-recovery-bench-smoke.json'));

const report = await runBench(size, progress, runs);
const markdown = renderMarkdown(report);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
await writeFile(out.replace(/\.json$/, '.md'), markdown);
// The full run into the repository also refreshes the tables of docs/benchmarks.md.
const docsPage = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
if (values.out === undefined && size === 'full') await writeDocsTables(docsPage, markdown);
// A report inside the repository is formatted as biome formats JSON and Markdown, so `npm run lint` stays clean after a run.
const root = fileURLToPath(new URL('../', import.meta.url));
if (!relative(root, out).startsWith('..')) {
  await new Promise<void>((resolve) => {
    execFile(
      join(root, 'node_modules/.bin/biome'),
      ['format', '--write', out, out.replace(/\.json$/, '.md'), docsPage],
      { cwd: root },
      () => resolve(),
    );
  });
}
console.log(markdown);
console.log(`Written: ${out} and ${out.replace(/\.json$/, '.md')}`);
