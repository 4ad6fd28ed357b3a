import { describe, expect, it } from 'vitest';
import { chainResolvers, findRefs, mapResolver, normalizeRef, renameRefs, substitute, substituteArgs, substituteValue } from '@pipod/plan';

const values = mapResolver({
  'params.s': 'hello',
  'params.a': ['x', 'y', 'z'],
  'params.o': { url: 'https://e', rev: 'main' },
  'tasks.t.results.r': 'R',
});

describe('substitute', () => {
  it.each([
    ['plain $(params.s)', 'plain hello'],
    ['spaces $( params.s )', 'spaces hello'],
    ['bracket $(params["s"])', 'bracket hello'],
    ["single $(params['s'])", 'single hello'],
    ['index $(params.a[1])', 'index y'],
    ['key $(params.o.rev)', 'key main'],
    ['whole array $(params.a)', 'whole array ["x","y","z"]'],
    ['unknown $(params.nope) stays', 'unknown $(params.nope) stays'],
    ['out of range $(params.a[9]) stays', 'out of range $(params.a[9]) stays'],
    ['two $(params.s)-$(tasks.t.results.r)', 'two hello-R'],
    ['no ref $HOME', 'no ref $HOME'],
  ])('%s', (input, want) => {
    expect(substitute(input, values)).toBe(want);
  });

  it('does not substitute into a value that came from a substitution', () => {
    const r = mapResolver({ 'params.x': '$(params.y)', 'params.y': 'no' });
    expect(substitute('$(params.x)', r)).toBe('$(params.y)');
  });
});

describe('substituteArgs', () => {
  it('expands a whole-array element into several arguments', () => {
    expect(substituteArgs(['echo', '$(params.a[*])', '$(params.s)'], values)).toEqual(['echo', 'x', 'y', 'z', 'hello']);
  });
  it('renders an array inside a larger string as JSON', () => {
    expect(substituteArgs(['a=$(params.a[*])'], values)).toEqual(['a=["x","y","z"]']);
  });
});

describe('substituteValue', () => {
  it('keeps the type of a whole-value reference', () => {
    expect(substituteValue('$(params.o)', values)).toEqual({ url: 'https://e', rev: 'main' });
    expect(substituteValue(['$(params.a[*])', 'w'], values)).toEqual(['x', 'y', 'z', 'w']);
    expect(substituteValue({ k: '$(params.s)!' }, values)).toEqual({ k: 'hello!' });
  });
});

describe('refs', () => {
  it('finds and normalises references', () => {
    expect(findRefs('$(tasks.a.results.b) and $(params["c.d"])')).toEqual(['tasks.a.results.b', 'params.c.d']);
    expect(normalizeRef("params['x']")).toBe('params.x');
  });
  it('chains resolvers in order', () => {
    const r = chainResolvers(mapResolver({ a: '1' }), mapResolver({ a: '2', b: '3' }));
    expect([r('a'), r('b'), r('c')]).toEqual(['1', '3', undefined]);
  });
});

describe('renameRefs', () => {
  const toQualified = (ref: string): string | undefined => (ref.startsWith('tasks.a.') ? `tasks.sub.${ref.slice(6)}` : undefined);
  it.each([
    ['$(tasks.a.results.r)', '$(tasks.sub.a.results.r)'],
    ['x $( tasks.a.status ) y $(tasks.b.results.r)', 'x $(tasks.sub.a.status) y $(tasks.b.results.r)'],
    ['$(tasks.a.results["r.s"])', '$(tasks.sub.a.results.r.s)'],
    ['no refs $(', 'no refs $('],
    ['$(tasks.a.results.r) and $(params.p)', '$(tasks.sub.a.results.r) and $(params.p)'],
  ])('%s → %s', (text, want) => {
    expect(renameRefs(text, toQualified)).toBe(want);
  });
});
