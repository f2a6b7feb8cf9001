import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLING } from '../lib/constructs/lambda-code';
import { type Sampled, sampled } from './support/stats';

const run = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const SDK_PACKAGE = 'node_modules/purecloud-platform-client-v2/';

/** The esbuild options the package's prebuilt assets and a synth from a checkout both use (lambda-code.ts). */
export const LAMBDA_BUNDLE_OPTIONS: BuildOptions = {
  ...LAMBDA_BUNDLING,
  mainFields: [...LAMBDA_BUNDLING.mainFields],
  external: [...LAMBDA_BUNDLING.external],
};

/** The environment a deployed function sees, minus secrets: what the handlers read at init. */
const LAMBDA_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  WEBHOOK_ID: 'wh-bench',
  GENESYS_CLOUD_REGION: 'us-east-1',
  RETRY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/genesys-webhook-recovery-retry',
  LEDGER_TABLE_NAME: 'genesys-webhook-recovery-ledger',
  GENESYS_CREDENTIALS_SECRET_ID: 'genesys-webhook-recovery/genesys-credentials',
  // Signing is on by default; the key itself is read on the first send, not at init.
  SIGNING_SECRET_ID: 'GenesysWebhookRecovery/webhook-signing-secret',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'GenesysWebhookRecovery',
};

/** One bundle's size and init time. */
export interface BundleFigures {
  readonly name: string;
  /** The .mjs file Lambda loads (the source map is a separate file, read only when a stack trace is mapped). */
  readonly bytes: number;
  /** Bytes of the bundle attributed to the Genesys SDK's modules, from esbuild's metafile. */
  readonly genesysSdkBytes: number;
  /** The largest packages in the bundle (bytes in the output), to show what a size is made of. */
  readonly topPackages: readonly { readonly name: string; readonly bytes: number }[];
  /** `await import(bundle)` in a fresh process, with NODE_OPTIONS=--enable-source-maps as deployed. */
  readonly initMs: Sampled;
  /** The same without source-map support, to show what that option costs at init. */
  readonly initMsWithoutSourceMaps: Sampled;
}

async function bundle(
  outdir: string,
  name: string,
  entry: { file: string } | { source: string },
): Promise<{ file: string; metafile: Metafile }> {
  const outfile = join(outdir, name, 'index.mjs');
  const result = await build({
    ...LAMBDA_BUNDLE_OPTIONS,
    ...('file' in entry
      ? { entryPoints: [join(PROJECT_ROOT, entry.file)] }
      : { stdin: { contents: entry.source, resolveDir: PROJECT_ROOT, loader: 'ts' } }),
    outfile,
    metafile: true,
  });
  return { file: outfile, metafile: result.metafile };
}

/** Imports the bundle in a new Node process (the one running the benchmark: the Lambda runtime's major). */
async function importTime(file: string, sourceMaps: boolean): Promise<number> {
  const url = pathToFileURL(file).href;
  const script = `const t = performance.now(); await import(${JSON.stringify(url)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmpdir(),
      ...LAMBDA_ENV,
      ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    },
    cwd: tmpdir(),
    timeout: 30_000,
  });
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`could not read the init time of ${file}: ${stdout}`);
  return ms;
}

function packageBytes(metafile: Metafile): { name: string; bytes: number }[] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, info] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? '(project code)';
      byPackage.set(name, (byPackage.get(name) ?? 0) + info.bytesInOutput);
    }
  }
  return [...byPackage]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5);
}

function sdkBytes(metafile: Metafile): number {
  let total = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, info] of Object.entries(output.inputs)) {
      if (input.includes(SDK_PACKAGE)) total += info.bytesInOutput;
    }
  }
  return total;
}

/**
 * Bundles the redeliverer, the poller and the Genesys SDK alone with the Lambda options, then imports each
 * `runs` times in fresh processes, interleaved so that a burst of load on the machine hits all three alike.
 */
export async function measureColdStart(runs: number): Promise<BundleFigures[]> {
  const outdir = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  try {
    const bundles = [
      {
        name: 'redeliverer',
        ...(await bundle(outdir, 'redeliverer', { file: 'lambdas/redeliverer/handler.ts' })),
      },
      { name: 'poller', ...(await bundle(outdir, 'poller', { file: 'lambdas/poller/handler.ts' })) },
      {
        name: 'genesys-sdk-only',
        ...(await bundle(outdir, 'genesys-sdk-only', {
          source:
            "import platformClient from 'purecloud-platform-client-v2';\nexport const client = platformClient.ApiClient.instance;\n",
        })),
      },
    ];
    const times = new Map<string, { maps: number[]; plain: number[] }>(
      bundles.map((b) => [b.name, { maps: [], plain: [] }]),
    );
    for (let i = 0; i < runs; i += 1) {
      for (const b of bundles) {
        times.get(b.name)?.maps.push(await importTime(b.file, true));
        times.get(b.name)?.plain.push(await importTime(b.file, false));
      }
    }
    const figures: BundleFigures[] = [];
    for (const b of bundles) {
      const t = times.get(b.name) ?? { maps: [], plain: [] };
      figures.push({
        name: b.name,
        bytes: (await stat(b.file)).size,
        genesysSdkBytes: sdkBytes(b.metafile),
        topPackages: packageBytes(b.metafile),
        initMs: sampled(t.maps),
        initMsWithoutSourceMaps: sampled(t.plain),
      });
    }
    // The source map is deployed beside the bundle; make sure it exists (it is not part of the size Lambda loads).
    await readFile(`${bundles[0]?.file}.map`);
    return figures;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
