import { describe, expect, it } from 'vitest';
import { escapeKubeVars, expandEnvList, expandKubeVars } from '@pipod/plan';

const env: Record<string, string> = { A: 'x', B: 'y', EMPTY: '', 'with.dot': 'd' };
const lookup = (n: string): string | undefined => env[n];

describe('expandKubeVars (the kubelet\'s rules)', () => {
  it.each([
    ['no reference', 'plain text', 'plain text'],
    ['one reference', '$(A)', 'x'],
    ['references inside text', 'a-$(A)-$(B)-b', 'a-x-y-b'],
    ['an unknown name stays as written', '$(NOPE) $(A)', '$(NOPE) x'],
    ['an empty value', '[$(EMPTY)]', '[]'],
    ['any name up to the parenthesis', '$(with.dot)', 'd'],
    ['$$ escapes', '$$(A)', '$(A)'],
    ['$$$$ is two dollars', '$$$$', '$$'],
    ['$$ before a reference', '$$$(A)', '$x'],
    ['a $ before another character is kept', '$A ${A} $', '$A ${A} $'],
    ['an unterminated reference is kept and scanning goes on', '$(A $(B', '$(A $(B'],
    ['an unterminated opener before a closed reference', '$($(A)', '$($(A)'],
    ['the expansion is not expanded again', '$(C)', '$(A)'],
  ])('%s: %j → %j', (_what, input, want) => {
    expect(expandKubeVars(input, (n) => (n === 'C' ? '$(A)' : lookup(n)))).toBe(want);
  });

  it.each(['$(A)', '$$', 'a $ b $$(B) $(', 'no dollars'])('escapeKubeVars(%j) expands back to itself', (s) => {
    expect(expandKubeVars(escapeKubeVars(s), lookup)).toBe(s);
  });
});

describe('expandEnvList', () => {
  it('expands each value against the entries before it, never later ones, and leaves valueFrom entries alone', () => {
    const list = [
      { name: 'LATE_REF', value: '$(A)' },
      { name: 'A', value: 'x' },
      { name: 'B', value: '$(A)-y' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'C', value: '$(B)/$(POD)/$$(A)' },
      { name: 'A', value: 'z-$(A)' },
    ];
    expect(expandEnvList(list)).toEqual([
      { name: 'LATE_REF', value: '$(A)' },
      { name: 'A', value: 'x' },
      { name: 'B', value: 'x-y' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'C', value: 'x-y/$(POD)/$(A)' },
      { name: 'A', value: 'z-x' },
    ]);
  });

  it('sees a base environment', () => {
    expect(expandEnvList([{ name: 'P', value: '$(HOME)/bin' }], { HOME: '/root' })).toEqual([{ name: 'P', value: '/root/bin' }]);
  });
});
