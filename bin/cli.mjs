#!/usr/bin/env node
// The `genesys-webhook-recovery` command: registers tsx so the TypeScript sources run as they are, then runs
// the CLI. Run it from the project with `npx genesys-webhook-recovery --help`.
import { register } from 'tsx/esm/api';

register();
const { runCli, cliProcessIo, interruptSignal } = await import('../cli/main.ts');
process.stdout.on('error', () => undefined);
process.exitCode = await runCli(process.argv.slice(2), { ...cliProcessIo(), signal: interruptSignal() });
