import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions } from 'esbuild';

/** The Lambda handlers: each one's asset directory name (`dist/assets/<name>` in the package) and entry file. */
export const LAMBDA_HANDLERS = {
  poller: 'lambdas/poller/handler.ts',
  redeliverer: 'lambdas/redeliverer/handler.ts',
  intake: 'lambdas/intake/handler.ts',
} as const;

export type LambdaHandlerName = keyof typeof LAMBDA_HANDLERS;

/** Modules the SDK's default credential chain imports only when the environment holds no credentials. */
export const LAZY_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
];

/**
 * Node.js built-ins the bundles reach through a CommonJS stand-in (lambda-builtins/<name>.cjs, which returns
 * `process.getBuiltinModule()`) rather than an ESM `import`. Node builds the ESM facade of a built-in by reading
 * every export, which runs its lazy getters: `import 'node:http'` loads Node's own undici (for `http.WebSocket`
 * and friends), ~35 ms of a cold start that the redeliverer never uses. esbuild's CommonJS interop reads a
 * property only when the code does.
 */
export const LAMBDA_BUILTINS = ['http', 'https', 'net', 'process'];

/** esbuild `alias` for {@link LAMBDA_BUILTINS}: both spellings, `http` and `node:http`. */
const BUILTIN_ALIASES = /* @__PURE__ */ Object.fromEntries(
  LAMBDA_BUILTINS.flatMap((name) => {
    const shim = fileURLToPath(new URL(`./lambda-builtins/${name}.cjs`, import.meta.url));
    return [
      [name, shim],
      [`node:${name}`, shim],
    ];
  }),
);

/** The file Lambda loads from each asset (`index.handler`), next to its source map `index.mjs.map`. */
export const HANDLER_FILE = 'index.mjs';

/**
 * The esbuild options of every handler bundle, the one source of truth for both routes to the same bytes:
 * `npm run build` (scripts/build.ts) pre-bundles the package's assets with them, and a synth from a checkout
 * bundles the sources with them. Node.js 24 ESM, minified, with a linked source map without sources.
 */
export const LAMBDA_BUNDLING = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  // ESM output: CommonJS dependencies (the Genesys SDK among them) still call require().
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  // Bundle @aws-sdk/* rather than use the runtime's copy: the deployed code then runs the SDK versions it was
  // tested with, and tree-shaken minified clients load faster than the runtime's full packages. The exception:
  // the credential providers the default chain imports lazily after the environment's. In Lambda the role's
  // credentials are always in the environment, so they are never loaded (and the runtime's own SDK v3 would
  // serve them if they were); leaving them out keeps ~115 KB out of every bundle.
  external: LAZY_CREDENTIAL_PROVIDERS,
  alias: BUILTIN_ALIASES,
  logLevel: 'error',
} as const satisfies BuildOptions;

/** The repository root when running from a checkout (this file is lib/constructs/lambda-code.ts). */
const PROJECT_ROOT = /* @__PURE__ */ fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles one handler with {@link LAMBDA_BUNDLING} into `outdir` (index.mjs and its map). The bytes do not
 * depend on `outdir`: esbuild lays the output out as if it were `dist/assets/<name>` of the checkout, so the
 * source map's relative paths, and so the asset hash, are the same at pack time and at synth.
 */
export function bundleHandler(
  esbuild: Pick<typeof import('esbuild'), 'buildSync'>,
  name: LambdaHandlerName,
  outdir: string,
): void {
  const nominalDir = join(PROJECT_ROOT, 'dist', 'assets', name);
  const result = esbuild.buildSync({
    ...LAMBDA_BUNDLING,
    external: [...LAMBDA_BUNDLING.external],
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    entryPoints: [join(PROJECT_ROOT, LAMBDA_HANDLERS[name])],
    outfile: join(nominalDir, HANDLER_FILE),
    absWorkingDir: PROJECT_ROOT,
    write: false,
  });
  for (const file of result.outputFiles) {
    const target = join(outdir, relative(nominalDir, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
}

/**
 * Bundles a handler from the sources at synth, in-process (no Docker). A class so that its fields, the handler's
 * name, are part of the asset cache key aws-cdk-lib derives from the bundling options.
 */
class SourceBundling implements ILocalBundling {
  constructor(readonly handler: LambdaHandlerName) {}

  tryBundle(outputDir: string): boolean {
    // esbuild is a devDependency: a checkout has it; the package never comes here (its assets are prebuilt).
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    bundleHandler(esbuild, this.handler, outputDir);
    return true;
  }
}

// Defined (as true) by scripts/build.ts in the package's dist/index.{mjs,cjs} only, which then drops the other branch.
declare const __PREBUILT_LAMBDA_ASSETS__: true;

/**
 * The code of one handler. From the package: the asset `npm run build` bundled (dist/assets/<name>), so a synth
 * needs no esbuild, lockfile or Docker. From a checkout: the sources, bundled at synth with the same options
 * (skipped, as CDK does, for stacks the CLI did not select).
 */
export function lambdaCode(name: LambdaHandlerName): lambda.Code {
  return typeof __PREBUILT_LAMBDA_ASSETS__ !== 'undefined' ? prebuiltCode(name) : sourceCode(name);
}

function prebuiltCode(name: LambdaHandlerName): lambda.Code {
  const dir = fileURLToPath(new URL(`./assets/${name}/`, import.meta.url));
  if (!existsSync(join(dir, HANDLER_FILE))) {
    throw new Error(`genesys-webhook-recovery: the packaged Lambda asset ${dir}${HANDLER_FILE} is missing`);
  }
  return lambda.Code.fromAsset(dir);
}

function sourceCode(name: LambdaHandlerName): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always succeeds or throws esbuild's error.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      local: new SourceBundling(name),
    },
  });
}
