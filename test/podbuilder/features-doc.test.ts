// docs/features.md must name every field of every allow-list in model/fields.ts, in that list's table, with the same verdict.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const model = readFileSync(join(root, 'packages/podbuilder/src/model/fields.ts'), 'utf8');
const doc = readFileSync(join(root, 'docs/features.md'), 'utf8');

/** `[list, field, supported]` for every field written in an allow-list literal. */
function allowLists(): [string, string, boolean][] {
  const out: [string, string, boolean][] = [];
  for (const m of model.matchAll(/const ([A-Z_]+): Fields = \{([\s\S]*?)\};/g)) {
    for (const f of (m[2] ?? '').matchAll(/([A-Za-z]+):\s*(true|`|'|LATER)/g)) out.push([m[1] ?? '', f[1] ?? '', f[2] === 'true']);
  }
  return out;
}

/** The table of one allow-list in the doc. */
function section(list: string): string {
  const start = doc.indexOf(`<!-- allow-list ${list} -->`);
  if (start < 0) return '';
  const next = doc.indexOf('<!-- allow-list ', start + 1);
  return doc.slice(start, next < 0 ? undefined : next);
}

describe('docs/features.md', () => {
  const fields = allowLists();

  it('reads the allow-lists (so the checks below check something)', () => {
    expect(fields.length).toBeGreaterThan(150);
    expect(fields).toContainEqual(['PIPELINE_TASK', 'matrix', true]);
  });

  it('has a row for every allow-list field with the verdict the code gives', () => {
    const wrong: string[] = [];
    for (const [list, field, ok] of fields) {
      const row = section(list).split('\n').find((l) => l.startsWith(`| \`${field}\` |`));
      if (row === undefined) wrong.push(`${list}.${field}: no row`);
      else if (ok === row.includes('| rejected |')) wrong.push(`${list}.${field}: code says ${ok ? 'supported' : 'rejected'}`);
    }
    expect(wrong).toEqual([]);
  });
});
