import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const RUNTIME = fileURLToPath(new URL('./lambda-runtime.mjs', import.meta.url));
/** Node 24, from the `node` devDependency, as the nodejs24.x runtime (the test runner may run another Node). */
// The project's Node 24 (tools/node-runtime's binary package), as npm links it for scripts.
const NODE_24 = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
/** Lines of output kept per process, for a failing test's message. */
const KEPT_LINES = 400;

export interface FunctionProcessOptions {
  readonly name: string;
  readonly assetDir: string;
  readonly entryFile: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  /** Everything the process sees: the template's variables, the Lambda runtime's, the layer's endpoints. */
  readonly environment: Readonly<Record<string, string>>;
}

/** How an invocation ended, as Lambda reports it to an invoker. */
export type InvocationResult =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: { errorType: string; errorMessage: string } };

/**
 * One Lambda execution environment: the function's deployed file in its own Node 24 process, serving one
 * invocation at a time. An invocation that outlives the function's timeout kills the process, as Lambda does,
 * and the next invocation gets a fresh one (a cold start).
 */
export class FunctionProcess {
  readonly output: string[] = [];
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #busy = false;
  readonly #pending = new Map<string, (r: InvocationResult) => void>();

  constructor(readonly options: FunctionProcessOptions) {}

  get busy(): boolean {
    return this.#busy;
  }

  start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const child = fork(RUNTIME, [], {
      execPath: NODE_24,
      cwd: this.options.assetDir,
      env: {
        ...this.options.environment,
        _HANDLER: this.options.handler,
        LAMBDA_TASK_ROOT: this.options.assetDir,
        LAMBDA_LAYER_ENTRY_FILE: this.options.entryFile,
        LAMBDA_LAYER_TIMEOUT_SECONDS: String(this.options.timeoutSeconds),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.output.length > KEPT_LINES) this.output.splice(0, this.output.length - KEPT_LINES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: { ready?: true; id?: string } & InvocationResult) => {
        if (message.ready) return resolve();
        const done = this.#pending.get(message.id ?? '');
        this.#pending.delete(message.id ?? '');
        done?.(message);
      });
      child.once('exit', (code, signal) => {
        reject(new Error(`${this.options.name} exited (${code ?? signal}) before it was ready`));
        for (const done of this.#pending.values()) {
          done({
            ok: false,
            error: { errorType: 'Runtime.ExitError', errorMessage: `exited (${code ?? signal})` },
          });
        }
        this.#pending.clear();
        this.#child = undefined;
        this.#ready = undefined;
      });
    });
    return this.#ready;
  }

  async invoke(event: unknown): Promise<InvocationResult> {
    if (this.#busy) throw new Error(`${this.options.name} is busy: one invocation at a time`);
    this.#busy = true;
    try {
      await this.start();
      const id = randomUUID();
      const child = this.#child;
      return await new Promise<InvocationResult>((resolve) => {
        const timer = setTimeout(() => {
          this.#pending.delete(id);
          child?.kill('SIGKILL');
          resolve({
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${this.options.timeoutSeconds} seconds`,
            },
          });
        }, this.options.timeoutSeconds * 1000);
        this.#pending.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        child?.send({ id, event, requestId: id });
      });
    } finally {
      this.#busy = false;
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

/** Lambda's instances of one function: an invocation takes an idle one, or waits for one to be free. */
export class FunctionPool {
  readonly #waiters: (() => void)[] = [];

  constructor(readonly processes: readonly FunctionProcess[]) {}

  async invoke(event: unknown): Promise<InvocationResult> {
    for (;;) {
      const idle = this.processes.find((p) => !p.busy);
      if (idle) {
        try {
          return await idle.invoke(event);
        } finally {
          this.#waiters.shift()?.();
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  output(): string[] {
    return this.processes.flatMap((p) => p.output);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }
}
