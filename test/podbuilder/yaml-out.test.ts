// The Pod writer must mean the same thing to any YAML reader: every output is
// parsed back with the `yaml` package as YAML 1.2 and as YAML 1.1 (what
// Kubernetes' Go parsers follow for booleans, octals and sexagesimals).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml } from '@pipod/podbuilder';

const tricky = [
  '', ' ', 'a b', ' lead', 'trail ', 'yes', 'No', 'ON', 'off', 'y', 'n', 'true', 'False', 'null', 'Null', '~', '-', '--', '-1', '- x', '-x', '--flag=1',
  '1', '01', '0o7', '0x1F', '1e3', '1E3', '1.5', '.5', '.inf', '-.inf', '.nan', '1_000', '1:30', '12:30:00', '2024-01-01', '2024-01-01T10:00:00Z',
  '100m', '2Gi', '1.5G', '1e', 'a:b', 'a:', 'a: b', 'http://x/y', 'a #b', '#c', '&anchor', '*alias', '!tag', '|', '>', '%', '@x', '`x`', '"q"', "'s'",
  '{a}', '[a]', 'a,b', '?', ':', '=', '<<', 'a\nb', 'tab\there', '\u0000', '\u007f', '\u0085', '\u2028', 'é', '日本', '😀', 'x\r\ny', '$(params.a[*])',
];

function roundTrips(v: unknown): void {
  const text = toYaml(v);
  expect(parse(text)).toEqual(v);
  expect(parse(text, { version: '1.1' })).toEqual(v);
}

describe('toYaml', () => {
  it.each(tricky.map((s) => [s]))('keeps %j a string as value, list item and key', (s) => {
    roundTrips({ value: s, list: [s, [s]], nested: { [s]: s } });
  });

  it('keeps numbers, booleans, null and empty collections', () => {
    roundTrips({ a: 1, b: 1.5, c: -2, d: true, e: false, f: null, g: [], h: {}, i: [[], {}, [1, [2]], { x: [] }] });
  });

  it('round-trips random strings', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = 'aZ09 -_:#,.[]{}!&*|>\'"%@`?=~\n\t\\/+\u00e9\u2028';
    for (let n = 0; n < 500; n++) {
      const s = Array.from({ length: Math.floor(rand() * 12) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      roundTrips({ [s || 'k']: s, l: [s] });
    }
  });

  it('writes sorted keys in block style', () => {
    expect(toYaml({ b: [{ z: 1, x: '2', y: 'no' }], a: {} })).toBe("a: {}\nb:\n  - x: '2'\n    'y': 'no'\n    z: 1\n");
  });
});
