import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The project's root, so that child processes run the same code from any working directory. */
export const ROOT = resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** The test's environment without anything that would point local mode or the CLI elsewhere. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(GENESYS_|AWS_|LOCAL_|WEBHOOK_ID|POLL_|LOOKBACK_|MAX_RETR|RETRY_)/.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** A running `npm start` (local/start.ts) in a child process, on free ports. */
export interface LocalModeProcess {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs` or if it exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when it exits. */
  readonly exited: Promise<number | null>;
  /** Sends SIGTERM (local mode then stops and prints its summary) and waits for the exit. */
  stop(): Promise<number | null>;
}

/** Starts local mode as `npm start` does, with `env` on top of a clean environment and free ports. */
export function startLocalMode(
  env: Record<string, string>,
  options: { args?: string[]; cwd?: string; preload?: string } = {},
): LocalModeProcess {
  const imports = ['--import', TSX, ...(options.preload ? ['--import', options.preload] : [])];
  const child = spawn(
    process.execPath,
    [...imports, resolve(ROOT, 'local/start.ts'), ...(options.args ?? [])],
    {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv({
        LOCAL_SQS_PORT: '0',
        LOCAL_DYNAMODB_PORT: '0',
        LOCAL_GENESYS_PORT: '0',
        LOCAL_EVENTBRIDGE_PORT: '0',
        ...env,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let running = true;
  const exited = new Promise<number | null>((done) =>
    child.on('exit', (code) => {
      running = false;
      for (const w of waiters) w();
      done(code);
    }),
  );
  return {
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((done, fail) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const check = () => {
          const m = out.match(pattern);
          if (m || !running) {
            clearTimeout(timer);
            waiters.delete(check);
            if (m) done(m);
            else fail(new Error(`exited without ${pattern}:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (running) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** What a CLI run printed, and its exit status. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `genesys-webhook-recovery` bin with `args`, as an operator would. */
export function runCliProcess(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string = ROOT,
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve(ROOT, 'bin/cli.mjs'), ...args],
      { env: cleanEnv(env), cwd, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
