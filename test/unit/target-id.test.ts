import { describe, expect, it } from 'vitest';
import { targetId } from '../../lambdas/shared/domain/target-id';

describe('targetId', () => {
  const slack = 'https://hooks.slack.com/services/T0AAA/B0BBB/XyZsecret123';

  it('is the origin, "/~" and 12 hex characters, with no part of the path or query', () => {
    const id = targetId(`${slack}?code=qsecret`);
    expect(id).toMatch(/^https:\/\/hooks\.slack\.com\/~[0-9a-f]{12}$/);
    for (const part of ['services', 'T0AAA', 'B0BBB', 'XyZsecret123', 'qsecret'])
      expect(id).not.toContain(part);
  });

  it('is stable for a URL and tells apart paths and queries of one host', () => {
    expect(targetId(slack)).toBe(targetId(slack));
    const ids = new Set(
      [slack, `${slack}x`, `${slack}?a=1`, `${slack}?a=2`, 'https://hooks.slack.com/'].map(targetId),
    );
    expect(ids.size).toBe(5);
  });

  it('keeps the port, drops user info, and names no text of a URL it cannot read', () => {
    expect(targetId('http://user:pw@127.0.0.1:8080/hook')).toMatch(
      /^http:\/\/127\.0\.0\.1:8080\/~[0-9a-f]{12}$/,
    );
    expect(targetId('not a url with-a-token')).toMatch(/^\(not a URL\)\/~[0-9a-f]{12}$/);
  });
});
