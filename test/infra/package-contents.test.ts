import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_FILE, LAMBDA_HANDLERS } from '../../lib/constructs/lambda-code';

const run = promisify(execFile);
const projectRoot = new URL('../../', import.meta.url).pathname;

/** What `npm pack` may put in the tarball, and nothing else (tests, bench, fixtures, TypeScript sources stay out). */
const EXPECTED_FILES = [
  'CHANGELOG.md',
  'LICENSE',
  'README.md',
  'bin/cli.mjs',
  'dist/cli.mjs',
  'dist/index.cjs',
  'dist/index.d.cts',
  'dist/index.d.mts',
  'dist/index.mjs',
  ...Object.keys(LAMBDA_HANDLERS).flatMap((name) => [
    `dist/assets/${name}/${HANDLER_FILE}`,
    `dist/assets/${name}/${HANDLER_FILE}.map`,
  ]),
  'package.json',
].sort();

/**
 * The size budget. The poller's bundle (the Genesys SDK, ~2.3 MB, and its map) and the CLI's (~2.5 MB, the SDK
 * again) are most of it; a tarball past these figures has picked up something it should not carry.
 */
const MAX_PACKED_BYTES = 2_500_000;
const MAX_UNPACKED_BYTES = 12_000_000;

interface PackResult {
  name: string;
  version: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  version: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe('npm pack --dry-run: the package holds the compiled construct, its assets and the CLI, and no more', () => {
  let pack: PackResult;

  beforeAll(async () => {
    // The build prepack runs, then the listing without it (its lines would go to stdout, ahead of the JSON).
    await run('npm', ['run', '-s', 'build'], { cwd: projectRoot, maxBuffer: 1 << 24 });
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: projectRoot,
      maxBuffer: 1 << 24,
    });
    pack = (JSON.parse(stdout) as [PackResult])[0];
  }, 300_000);

  it('lists exactly the built files, the README, the LICENSE and the CHANGELOG', () => {
    expect(pack.files.map((f) => f.path).sort()).toEqual(EXPECTED_FILES);
    expect(pack.entryCount).toBe(EXPECTED_FILES.length);
  });

  it('stays within the size budget', () => {
    expect(pack.size).toBeLessThan(MAX_PACKED_BYTES);
    expect(pack.unpackedSize).toBeLessThan(MAX_UNPACKED_BYTES);
    // Each handler bundle is real code, not an empty stub.
    for (const name of Object.keys(LAMBDA_HANDLERS)) {
      const bundle = pack.files.find((f) => f.path === `dist/assets/${name}/${HANDLER_FILE}`);
      expect(bundle?.size ?? 0).toBeGreaterThan(100_000);
    }
  });

  it('points main, types, exports and bin at files in the tarball', () => {
    const files = new Set(pack.files.map((f) => f.path));
    const targets = [
      pkg.main,
      pkg.types,
      ...Object.values(pkg.bin),
      ...(JSON.stringify(pkg.exports).match(/\.\/[^"]+/g) ?? []),
    ];
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ''));
    expect(pkg.exports['.']).toEqual({
      import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    });
  });

  it('has aws-cdk-lib and constructs as peer dependencies and no runtime dependency the bundles carry', () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    // zod validates the props at synth and its types are in the declarations; everything else is bundled.
    expect(Object.keys(pkg.dependencies)).toEqual(['zod']);
    // The repository's own installs still have them, for tests and a synth from a checkout.
    expect(pkg.devDependencies).toHaveProperty('aws-cdk-lib');
    expect(pkg.devDependencies).toHaveProperty('constructs');
    expect(pkg.scripts.prepack).toContain('build');
  });

  it('has a CHANGELOG entry for its version', () => {
    const changelog = readFileSync(join(projectRoot, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^# Changelog/m);
    expect(changelog).toContain(`## [${pkg.version}]`);
  });

  it('builds a construct bundle that imports only Node, its peers and zod, and no checkout-only code', () => {
    for (const file of ['dist/index.mjs', 'dist/index.cjs']) {
      const code = readFileSync(join(projectRoot, file), 'utf8');
      const imports = [...code.matchAll(/(?:from |require\()"([^"]+)"/g)].map((m) => m[1] ?? '');
      for (const specifier of imports) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(
          /^(node:|aws-cdk-lib|constructs$|zod\/mini$)/,
        );
      }
      expect(code).not.toContain('esbuild');
      expect(code).not.toContain('package-lock.json');
    }
    expect(existsSync(join(projectRoot, 'dist/.types'))).toBe(false);
  });
});
