import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExportTarget, createPartial } from '../../cli/commands/dlq-export';
import { jsonDepth, originalPayload } from '../../cli/dead-letter';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-file-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the export file', () => {
  it('is created exclusively, mode 0600, under a fresh name beside --out', async () => {
    const { path, handle } = await createPartial(join(dir, 'dlq.json'));
    await handle.close();
    expect(path).toMatch(/\/\.dlq\.json\.[0-9a-f]{12}\.partial$/);
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
  });

  it('O_EXCL: a symbolic link planted at the temporary path is refused, never followed', async () => {
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'keep me');
    await symlink(victim, join(dir, '.planted.json.abc.partial'));
    await expect(createPartial(join(dir, 'planted.json'), 'abc')).rejects.toThrow(/cannot create .*EEXIST/);
    expect(await readFile(victim, 'utf8')).toBe('keep me');
  });

  it.each([
    ['a missing folder', 'nowhere/dlq.json', /folder .*nowhere does not exist/],
    ['a folder', '.', /is a folder: give a file name/],
    ['a symbolic link', 'link.json', /not a regular file \(a symbolic link\)/],
  ])('--out naming %s is refused before anything is read', async (_what, name, message) => {
    await symlink(join(dir, 'target.json'), join(dir, 'link.json')).catch(() => undefined);
    await expect(checkExportTarget(join(dir, name))).rejects.toThrow(message);
    // Nothing was created for it.
    expect(
      (await readdir(dir)).filter((f) => f.endsWith('.partial') && !/^\.(dlq|planted)\.json/.test(f)),
    ).toEqual([]);
  });

  it('a new name and an existing regular file are accepted', async () => {
    await writeFile(join(dir, 'old.json'), '[]');
    await expect(checkExportTarget(join(dir, 'old.json'))).resolves.toBeUndefined();
    await expect(checkExportTarget(join(dir, 'new.json'))).resolves.toBeUndefined();
  });
});

describe('deeply nested payloads', () => {
  it('stay text beyond the depth JSON.stringify can recurse, and parse below it', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(jsonDepth(deep)).toBeGreaterThan(500);
    expect(originalPayload(deep)).toBe(deep);
    expect(() => JSON.stringify({ originalPayload: originalPayload(deep) })).not.toThrow();
    expect(jsonDepth('{"a":"[[[[","b":[{"c":1}]}')).toBe(3);
    expect(originalPayload('{"a":[{"b":1}]}')).toEqual({ a: [{ b: 1 }] });
  });
});
