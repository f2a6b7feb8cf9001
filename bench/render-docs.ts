import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from './bench';
import { writeDocsTables } from './docs-tables';
import { renderMarkdown } from './report';

/** `npm run bench:docs`: renders bench/results/latest.json into docs/benchmarks.md again, without measuring. */
const report = JSON.parse(
  await readFile(fileURLToPath(new URL('./results/latest.json', import.meta.url)), 'utf8'),
) as BenchReport;
await writeDocsTables(
  fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)),
  renderMarkdown(report),
);
console.log('docs/benchmarks.md: tables of bench/results/latest.json written');
