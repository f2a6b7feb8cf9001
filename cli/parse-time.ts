import { ConfigError } from '../lambdas/shared/errors';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads a point in time given on the command line: an ISO-8601 date-time (`2026-11-28T12:00:00Z`, a bare date is
 * midnight UTC) or an age before `now` (`90m`, `6h`, `2d`).
 */
export function parseTime(value: string, now: Date, flag: string): Date {
  const relative = /^(\d+)\s*([smhd])$/i.exec(value.trim());
  if (relative) {
    const [, amount = '0', unit = 's'] = relative;
    return new Date(now.getTime() - Number(amount) * (UNITS[unit.toLowerCase()] ?? 1_000));
  }
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim()) || Number.isNaN(parsed.getTime())) {
    throw new ConfigError(
      `${flag} must be an ISO-8601 time (2026-11-28T12:00:00Z) or an age such as 30m, 6h or 2d (got ${JSON.stringify(value)})`,
    );
  }
  return parsed;
}
