#!/usr/bin/env node
// The `genesys-webhook-recovery` command (`npx genesys-webhook-recovery --help`). In a checkout it runs the
// TypeScript sources through tsx; in the installed package, which has no sources, the bundle npm run build made.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import('../dist/cli.mjs');
}
const { runCli, cliProcessIo, interruptSignal } = cli;
process.stdout.on('error', () => undefined);
process.exitCode = await runCli(process.argv.slice(2), { ...cliProcessIo(), signal: interruptSignal() });
