import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { expect } from 'vitest';

interface Report {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath?: string }[] }[];
  }[];
}

/**
 * Synthesises with both packs registered as bin/app.ts registers them (CDK policy validation, which honours
 * `Validations.of(...).acknowledge`), and returns each unacknowledged finding as "rule at construct path".
 */
export function nagFindings(app: App): string[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  let failed = false;
  try {
    app.synth();
  } catch (error) {
    expect(String(error)).toContain('ValidationFailed');
    failed = true;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  );
  expect(failed).toBe(findings.length > 0);
  return findings;
}
