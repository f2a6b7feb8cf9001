import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersStack } from '../../examples/existing-stack/orders-stack';
import { INTAKE_SERVICE_NAME } from '../../lib/constructs/eventbridge-source';
import {
  bundleHandler,
  HANDLER_FILE,
  LAMBDA_HANDLERS,
  type LambdaHandlerName,
} from '../../lib/constructs/lambda-code';
import { POLLER_SERVICE_NAME } from '../../lib/constructs/poller-function';
import { REDELIVERER_SERVICE_NAME } from '../../lib/constructs/redeliverer-function';
import { cdkJsonContext } from '../infra/synth-stack';

/**
 * The package as a CDK user gets it: `npm pack` (which builds dist/ through prepack), the tarball installed into a
 * fresh app next to aws-cdk-lib and constructs and nothing else, then that app type-checked (strict, NodeNext) and
 * synthesised from an ES module and from CommonJS with the cdk CLI, with no esbuild installed and no Docker on the
 * PATH. The app is examples/existing-stack with its import turned into the package name. Its templates must equal
 * the repository's synth of the same example, asset hashes included, and each function's asset must be the
 * handler's bundle byte for byte.
 */

const run = promisify(execFile);
const projectRoot = new URL('../../', import.meta.url).pathname;
const repoPkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
const SERVICE_HANDLERS: Readonly<Record<string, LambdaHandlerName>> = {
  [POLLER_SERVICE_NAME]: 'poller',
  [REDELIVERER_SERVICE_NAME]: 'redeliverer',
  [INTAKE_SERVICE_NAME]: 'intake',
};

/** The environment minus npm's script variables (the nested npm must act on the temporary app) and AWS's. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key, value]) =>
        value !== undefined && !/^npm_/i.test(key) && !key.startsWith('AWS_') && !key.startsWith('CDK_'),
    ),
  ) as Record<string, string>;
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

async function timed<T>(times: Record<string, number>, step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    times[step] = Math.round(performance.now() - started);
  }
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
type TemplateJson = { Resources: Record<string, Resource>; Conditions?: Record<string, unknown> } & Record<
  string,
  unknown
>;

/**
 * What may differ between an app's `cdk synth` and the repository's in-process synth: the CLI's version
 * reporting (CDKMetadata) and whether the asset was bundled during this synth (prebuilt in the package).
 */
function comparable(template: TemplateJson): TemplateJson {
  const copy = structuredClone(template);
  delete copy.Resources.CDKMetadata;
  if (copy.Conditions) delete copy.Conditions.CDKMetadataAvailable;
  if (copy.Conditions && Object.keys(copy.Conditions).length === 0) delete copy.Conditions;
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Metadata) delete resource.Metadata['aws:asset:is-bundled'];
  }
  return copy;
}

const ORDERS_IMPORT = "from '../../lib/index';";

describe('the npm package installed into a fresh CDK app', () => {
  let work: string;
  let appDir: string;
  let tarball: string;
  let packed: { size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
  const times: Record<string, number> = {};
  const templates: Record<'esm' | 'cjs', TemplateJson> = {} as Record<'esm' | 'cjs', TemplateJson>;
  let typecheck: { code: number; output: string };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'package-install-'));
    appDir = join(work, 'app');
    await mkdir(appDir);

    const { stdout } = await timed(times, 'npm pack (build included)', () =>
      run('npm', ['pack', '--json', '--pack-destination', work], {
        cwd: projectRoot,
        env: cleanEnv(),
        maxBuffer: 1 << 24,
      }),
    );
    const [result] = JSON.parse(stdout) as [typeof packed & { filename: string }];
    packed = result;
    tarball = join(work, result.filename);

    // The app: examples/existing-stack with the package's name as a user writes it, as ESM and as CommonJS.
    const example = await readFile(join(projectRoot, 'examples/existing-stack/orders-stack.ts'), 'utf8');
    expect(example).toContain(ORDERS_IMPORT);
    const orders = example.replace(ORDERS_IMPORT, `from '${repoPkg.name}';`);
    const app = (stackModule: string) =>
      `import { App } from 'aws-cdk-lib';\nimport { OrdersStack } from '${stackModule}';\n\nconst app = new App();\nnew OrdersStack(app, 'Orders');\n`;
    await Promise.all([
      writeFile(
        join(appDir, 'package.json'),
        JSON.stringify({ name: 'orders-app', private: true, type: 'module' }),
      ),
      writeFile(join(appDir, 'orders-stack.ts'), orders),
      writeFile(join(appDir, 'app.ts'), app('./orders-stack.js')),
      writeFile(join(appDir, 'orders-stack.cts'), orders),
      writeFile(join(appDir, 'app.cts'), app('./orders-stack.cjs')),
      // What `cdk init app --language typescript` sets, skipLibCheck left off so the declarations are checked too.
      writeFile(
        join(appDir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: ['es2022'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noImplicitAny: true,
            strictNullChecks: true,
            noImplicitReturns: true,
            types: ['node'],
            outDir: 'build',
          },
          include: ['*.ts', '*.cts'],
        }),
      ),
      // The feature flags docs/construct.md tells users to copy.
      writeFile(
        join(appDir, 'cdk.json'),
        JSON.stringify({ app: 'node build/app.js', context: cdkJsonContext }),
      ),
    ]);

    // Only the tarball, aws-cdk-lib and constructs (and @types/node for the TypeScript app, as cdk init has).
    const dev = repoPkg.devDependencies;
    await timed(times, 'npm install', () =>
      run(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          tarball,
          `aws-cdk-lib@${dev['aws-cdk-lib']}`,
          `constructs@${dev.constructs}`,
          `@types/node@${dev['@types/node']}`,
        ],
        { cwd: appDir, env: cleanEnv(), maxBuffer: 1 << 24 },
      ),
    );

    typecheck = await timed(times, 'tsc (strict, NodeNext)', async () => {
      try {
        const r = await run(
          process.execPath,
          [join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', '.'],
          {
            cwd: appDir,
            env: cleanEnv(),
          },
        );
        return { code: 0, output: r.stdout + r.stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    });
    expect(typecheck.output).toBe('');

    // A PATH with node and nothing else of this machine's: no esbuild, no Docker to fall back on.
    const bin = join(work, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const cdk = join(projectRoot, 'node_modules/aws-cdk/bin/cdk');
    for (const [format, entry] of [
      ['esm', 'build/app.js'],
      ['cjs', 'build/app.cjs'],
    ] as const) {
      const outdir = join(appDir, `cdk.out.${format}`);
      await timed(times, `cdk synth (${format})`, () =>
        run(
          process.execPath,
          [cdk, 'synth', '--quiet', '--no-notices', '--app', `node ${entry}`, '-o', outdir],
          { cwd: appDir, env: cleanEnv({ PATH: `${bin}:/usr/bin:/bin` }), maxBuffer: 1 << 24 },
        ),
      );
      templates[format] = JSON.parse(await readFile(join(outdir, 'Orders.template.json'), 'utf8'));
    }
    console.info(
      `package: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.entryCount} files; ` +
        Object.entries(times)
          .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`)
          .join(', '),
    );
  }, 900_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs only its peers and zod: no esbuild, no Genesys SDK, no AWS SDK, no package-lock.json of ours', async () => {
    const installed = await readdir(join(appDir, 'node_modules'));
    expect(installed).toEqual(
      expect.arrayContaining(['aws-cdk-lib', 'constructs', 'genesys-webhook-recovery', 'zod']),
    );
    for (const absent of ['esbuild', 'purecloud-platform-client-v2', '@aws-sdk', 'tsx', 'typescript']) {
      expect(installed).not.toContain(absent);
    }
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => /\.ts$/.test(f) && !/\.d\.[cm]ts$/.test(f))).toEqual([]);
    expect(files).not.toContain('package-lock.json');
  });

  it('type-checks an ES module and a CommonJS consumer under strict with NodeNext resolution', () => {
    expect(typecheck).toEqual({ code: 0, output: '' });
    expect(existsSync(join(appDir, 'build/app.js'))).toBe(true);
    expect(existsSync(join(appDir, 'build/app.cjs'))).toBe(true);
  });

  it('synthesises, from ES modules and from CommonJS, the template the repository synthesises', () => {
    // The metadata the cdk CLI asks for (construct paths, asset paths), so both templates carry the same.
    const app = new App({
      outdir: join(work, 'repository.out'),
      context: {
        ...cdkJsonContext,
        'aws:cdk:enable-path-metadata': true,
        'aws:cdk:enable-asset-metadata': true,
      },
    });
    const stack = new OrdersStack(app, 'Orders');
    const repository = comparable(Template.fromStack(stack).toJSON() as TemplateJson);
    expect(Object.keys(repository.Resources).length).toBeGreaterThan(40);
    // Equal as a whole: logical ids, properties, and the asset hashes (S3Key) of the three functions.
    expect(comparable(templates.esm)).toEqual(repository);
    expect(comparable(templates.cjs)).toEqual(repository);
  });

  it("gives each function its handler's prebuilt bundle, byte for byte what a checkout bundles", async () => {
    const functions = Object.values(templates.esm.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const seen: LambdaHandlerName[] = [];
    for (const fn of functions) {
      const environment = fn.Properties?.Environment as { Variables?: Record<string, string> } | undefined;
      const variables = environment?.Variables ?? {};
      const name = SERVICE_HANDLERS[variables.POWERTOOLS_SERVICE_NAME ?? ''];
      expect(name, variables.POWERTOOLS_SERVICE_NAME).toBeDefined();
      if (!name) continue;
      seen.push(name);
      expect(fn.Properties?.Handler).toBe('index.handler');
      const asset = join(appDir, 'cdk.out.esm', String(fn.Metadata?.['aws:asset:path']));
      const fresh = join(work, 'fresh', name);
      bundleHandler(esbuild, name, fresh);
      for (const file of [HANDLER_FILE, `${HANDLER_FILE}.map`]) {
        const [shipped, built] = await Promise.all([
          readFile(join(asset, file)),
          readFile(join(fresh, file)),
        ]);
        expect(shipped.equals(built), `${name}/${file}`).toBe(true);
      }
      const map = JSON.parse(await readFile(join(asset, `${HANDLER_FILE}.map`), 'utf8')) as {
        sources: string[];
      };
      expect(map.sources.some((s) => s.endsWith(LAMBDA_HANDLERS[name]))).toBe(true);
    }
    expect(seen.sort()).toEqual(['intake', 'poller', 'redeliverer']);
  });

  it('runs the CLI from the package: npx genesys-webhook-recovery --help and --version', async () => {
    const help = await run('npx', ['--offline', repoPkg.name, '--help'], { cwd: appDir, env: cleanEnv() });
    expect(help.stdout).toMatch(/^Usage: genesys-webhook-recovery <command>/);
    expect(help.stdout).toContain('dlq list');
    const version = await run('npx', ['--offline', repoPkg.name, '--version'], {
      cwd: appDir,
      env: cleanEnv(),
    });
    expect(version.stdout).toBe(`genesys-webhook-recovery ${repoPkg.version}\n`);
  });

  it('fails a bad prop at synth with the one-line message, from the package', async () => {
    const script = `const { App, Stack } = require('aws-cdk-lib');
const { GenesysWebhookRecovery, ConfigError } = require('${repoPkg.name}');
try {
  new GenesysWebhookRecovery(new Stack(new App(), 'S'), 'R', { webhookIds: ['w'], genesysRegion: 'eu-west-1', maxRetries: 0 });
} catch (error) {
  process.stdout.write(String(error instanceof ConfigError) + '\\n' + error.message);
}`;
    const { stdout } = await run(process.execPath, ['--input-type=commonjs', '-e', script], {
      cwd: appDir,
      env: cleanEnv(),
    });
    expect(stdout).toMatch(/^true\nInvalid GenesysWebhookRecovery props at S\/R/);
    expect(stdout).toMatch(/^ {2}- MAX_RETRIES must be a whole number of attempts from 1 to 1000/m);
  });
});
