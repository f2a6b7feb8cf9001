/**
 * Builds the npm package into dist/ (`npm run build`; `npm pack` and `npm publish` run it as `prepack`):
 *
 * - index.mjs and index.cjs: the construct (lib/index.ts) for ES modules and CommonJS. aws-cdk-lib and constructs
 *   (peer dependencies) and zod (a dependency) stay imports; the rest of lib/ and lambdas/shared is bundled in.
 * - index.d.mts and index.d.cts: its declarations, one bundled file for each module format.
 * - assets/<handler>/index.mjs (and .map): each Lambda handler, bundled with the options a synth from a checkout
 *   uses (lib/constructs/lambda-code.ts), so a synth from the package needs no esbuild, lockfile or Docker.
 * - cli.mjs: the operator CLI, every dependency bundled in (bin/cli.mjs runs it from the package).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import { bundleHandler, LAMBDA_HANDLERS, type LambdaHandlerName } from '../lib/constructs/lambda-code';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const TYPES_TMP = join(DIST, '.types');

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
/** What the construct's bundle may import: what npm installs next to it, and Node's own modules. */
const PACKAGE_IMPORTS = [...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.dependencies ?? {})];
const BUILTINS = new Set(builtinModules);

/**
 * The construct validates GENESYS_CLOUD_REGION at synth against the Genesys SDK's region table, its only use of
 * the SDK there (lambdas/shared/adapters/genesys-delivery-source.ts). The SDK is 25 MB, so the construct's bundle
 * carries the table alone, taken from the installed SDK at build time; any other use fails loudly.
 */
const genesysRegionTable: esbuild.Plugin = {
  name: 'genesys-region-table',
  setup(build) {
    build.onResolve({ filter: /^purecloud-platform-client-v2$/ }, (args) => ({
      path: args.path,
      namespace: 'genesys-region-table',
    }));
    build.onLoad({ filter: /.*/, namespace: 'genesys-region-table' }, () => {
      const sdk = createRequire(import.meta.url)('purecloud-platform-client-v2') as {
        PureCloudRegionHosts: Record<string, string>;
      };
      const table = JSON.stringify(sdk.PureCloudRegionHosts);
      return {
        loader: 'js',
        contents: `const sdk = { PureCloudRegionHosts: ${table} };
export default new Proxy(sdk, {
  get(target, key) {
    if (typeof key === 'symbol' || key in target) return target[key];
    throw new Error('genesys-webhook-recovery: the construct bundles only the Genesys SDK region table, not ' + key);
  },
});
`,
      };
    });
  },
};

function isAllowedImport(path: string): boolean {
  if (BUILTINS.has(path) || path.startsWith('node:')) return true;
  return PACKAGE_IMPORTS.some((name) => path === name || path.startsWith(`${name}/`));
}

async function buildConstruct(format: 'esm' | 'cjs'): Promise<string> {
  const outfile = join(DIST, format === 'esm' ? 'index.mjs' : 'index.cjs');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'lib/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    // Readable, but with the checkout-only branches of lambda-code.ts (bundling from the sources) removed.
    minifySyntax: true,
    external: PACKAGE_IMPORTS.flatMap((name) => [name, `${name}/*`]),
    plugins: [genesysRegionTable],
    define: {
      __PREBUILT_LAMBDA_ASSETS__: 'true',
      // CommonJS has no import.meta: lambda-code.ts finds the assets next to this file by its URL.
      ...(format === 'cjs' ? { 'import.meta.url': '__import_meta_url' } : {}),
    },
    ...(format === 'cjs'
      ? { banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" } }
      : {}),
    metafile: true,
    logLevel: 'warning',
  });
  const output = result.metafile.outputs[Object.keys(result.metafile.outputs)[0] ?? ''];
  const stray = (output?.imports ?? []).map((i) => i.path).filter((path) => !isAllowedImport(path));
  if (stray.length > 0) {
    throw new Error(`${outfile} imports ${stray.join(', ')}: neither Node's nor a (peer) dependency`);
  }
  return outfile;
}

/** tsc emits the declarations, rollup-plugin-dts joins them into one file per module format. */
async function buildDeclarations(): Promise<void> {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const bundle = await rollup({
    input: join(TYPES_TMP, 'lib/index.d.ts'),
    plugins: [dts()],
    onwarn(warning) {
      throw new Error(`declarations: ${warning.message}`);
    },
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const code = output[0].code;
  await writeFile(join(DIST, 'index.d.mts'), code);
  await writeFile(join(DIST, 'index.d.cts'), code);
  await rm(TYPES_TMP, { recursive: true, force: true });
}

async function buildCli(): Promise<void> {
  await esbuild.build({
    entryPoints: [join(ROOT, 'cli/main.ts')],
    outfile: join(DIST, 'cli.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    // CommonJS dependencies (the Genesys SDK among them) call require().
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

const started = performance.now();
await rm(DIST, { recursive: true, force: true });
await mkdir(DIST, { recursive: true });
for (const name of Object.keys(LAMBDA_HANDLERS) as LambdaHandlerName[]) {
  bundleHandler(esbuild, name, join(DIST, 'assets', name));
}
await Promise.all([buildConstruct('esm'), buildConstruct('cjs'), buildCli()]);
await buildDeclarations();
process.stderr.write(`dist/ built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
