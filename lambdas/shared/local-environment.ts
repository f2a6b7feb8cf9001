import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from './errors';
import { type Env, processEnvironment } from './settings';

/**
 * The environment of local mode and the operator CLI: `.env` (if present) under the process environment, which
 * wins. The file is parsed, never loaded into `process.env`, so nothing else can come to depend on it. Kept out of
 * settings.ts so that no Lambda bundle carries dotenv (about 5 KB of the redeliverer's 500 KB budget).
 */
export function localEnvironment(dotenvPath: string): Env {
  return { ...readDotenv(dotenvPath), ...processEnvironment() };
}

/** The variables `.env` sets (none when there is no such file). */
export function readDotenv(dotenvPath: string): Record<string, string> {
  if (!existsSync(dotenvPath)) return {};
  try {
    return parseDotenv(readFileSync(dotenvPath, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `Could not read ${dotenvPath}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
