import { describe, expect, it } from 'vitest';
import { formatQuantity, isOvercommittable, parseQuantity, parseResourceList, QuantityError, resourceNameProblem } from '@pipod/podbuilder/resources';

const GI = 2n ** 30n;
const N = 1_000_000_000n; // nano-units per unit

describe('parseQuantity', () => {
  const table: [string | number, bigint][] = [
    ['0', 0n],
    ['100m', 100_000_000n],
    ['0.5', 500_000_000n],
    ['.5', 500_000_000n],
    ['1.', N],
    ['+1', N],
    ['-1', -N],
    ['1Gi', GI * N],
    ['1.5Ki', 1536n * N],
    ['0.1Ki', 102_400_000_000n],
    ['500M', 500_000_000n * N],
    ['2k', 2000n * N],
    ['1e3', 1000n * N],
    ['1E3', 1000n * N],
    ['1e+3', 1000n * N],
    ['1.5e3', 1500n * N],
    ['12e-3', 12_000_000n],
    ['1E', 10n ** 18n * N],
    ['1n', 1n],
    ['1u', 1000n],
    ['1e-9', 1n],
    // Finer than nano rounds up (away from zero), like the API server.
    ['1e-10', 1n],
    ['0.1n', 1n],
    ['1.0000000001', N + 1n],
    ['-0.1n', -1n],
    ['7Ei', 7n * 2n ** 60n * N],
    ['123456789012345678901234567890', 123456789012345678901234567890n * N],
    [2, 2n * N],
    [0.25, 250_000_000n],
    [1e21, 10n ** 21n * N],
  ];
  for (const [input, nano] of table) {
    it(`${JSON.stringify(input)} → ${nano}n`, () => {
      expect(parseQuantity(input)).toBe(nano);
    });
  }

  const bad: [string, string][] = [
    ['', 'invalid quantity "": empty'],
    ['.', 'invalid quantity ".": expected a number such as 1, 0.5, 100m or 1Gi'],
    ['Gi', 'invalid quantity "Gi": expected a number such as 1, 0.5, 100m or 1Gi'],
    ['--1', 'invalid quantity "--1": expected a number such as 1, 0.5, 100m or 1Gi'],
    ['1 Gi', 'invalid quantity "1 Gi": unknown suffix " Gi" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1ki', 'invalid quantity "1ki": unknown suffix "ki" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1KB', 'invalid quantity "1KB": unknown suffix "KB" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1e', 'invalid quantity "1e": unknown suffix "e" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1e1.5', 'invalid quantity "1e1.5": unknown suffix "e1.5" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1.5.5', 'invalid quantity "1.5.5": unknown suffix ".5" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1toString', 'invalid quantity "1toString": unknown suffix "toString" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'],
    ['1e99999', 'invalid quantity "1e99999": exponent out of range'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(() => parseQuantity(input)).toThrow(new QuantityError(input, message.replace(/^invalid quantity "[^"]*": /, '')));
      expect(() => parseQuantity(input)).toThrow(message);
    });
  }
});

describe('formatQuantity', () => {
  const table: [bigint, string, string][] = [
    [0n, 'cpu', '0'],
    [100_000_000n, 'cpu', '100m'],
    [1_500_000_000n, 'cpu', '1500m'],
    [2n * N, 'cpu', '2'],
    [2000n * N, 'cpu', '2k'],
    [1n, 'cpu', '1n'],
    [1500n, 'cpu', '1500n'],
    [-100_000_000n, 'cpu', '-100m'],
    [1024n * N, 'cpu', '1024'],
    [1536n * 2n ** 20n * N, 'memory', '1536Mi'],
    [2n * GI * N, 'memory', '2Gi'],
    [500_000_000n * N, 'memory', '500M'],
    [1000n * N, 'memory', '1k'],
    [1023n * N, 'memory', '1023'],
    [1024n * N, 'memory', '1Ki'],
    [500_000_000n, 'memory', '500m'],
    // 512Mi + 500M is a whole number of bytes but no multiple of 1Ki or of 1k.
    [(512n * 2n ** 20n + 500_000_000n) * N, 'memory', '1036870912'],
    [3n * GI * N, 'ephemeral-storage', '3Gi'],
    [4n * 2n ** 20n * N, 'hugepages-2Mi', '4Mi'],
    [3n * N, 'nvidia.com/gpu', '3'],
    [1024n * N, 'nvidia.com/gpu', '1024'],
  ];
  for (const [nano, resource, text] of table) {
    it(`${resource} ${nano}n → ${text}`, () => {
      expect(formatQuantity(nano, resource)).toBe(text);
      expect(parseQuantity(text)).toBe(nano);
    });
  }

  it('round-trips random values of every kind exactly', () => {
    let seed = 42;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 2000; i++) {
      const scale = 10n ** BigInt(Math.floor(next() * 22));
      const nano = BigInt(Math.floor(next() * 1e6)) * scale * (next() < 0.5 ? 1n : 1024n);
      for (const r of ['cpu', 'memory', 'example.com/thing']) expect(parseQuantity(formatQuantity(nano, r))).toBe(nano);
    }
  });
});

describe('parseResourceList', () => {
  it('collects every problem with its path and keeps the good entries', () => {
    const { amounts, problems } = parseResourceList({ cpu: '1.5.5', memory: '1Gi', 'ephemeral-storage': '-1Gi', 'nvidia.com/gpu': 1, 'example.com/bad': true as unknown as string }, 'spec.containers[2].resources.requests');
    expect(amounts).toEqual({ memory: GI * N, 'nvidia.com/gpu': N });
    expect(problems).toEqual([
      
      { path: 'spec.containers[2].resources.requests.cpu', message: 'invalid quantity "1.5.5": unknown suffix ".5" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)' },
      { path: 'spec.containers[2].resources.requests.ephemeral-storage', message: 'must not be negative, got "-1Gi"' },
      { path: 'spec.containers[2].resources.requests.example.com/bad', message: 'must be a quantity such as "500m" or "1Gi"' },
    ]);
  });
  it('rejects a list that is not a map', () => {
    expect(parseResourceList(['1'] as unknown as Record<string, string>, 'x.limits').problems).toEqual([{ path: 'x.limits', message: 'must be a map of resource name to quantity' }]);
  });
});

describe('isOvercommittable', () => {
  const table: [string, boolean][] = [
    ['cpu', true], ['memory', true], ['ephemeral-storage', true], ['kubernetes.io/something', true],
    ['hugepages-2Mi', false], ['nvidia.com/gpu', false], ['example.com/dongle', false],
  ];
  for (const [name, ok] of table) it(`${name} → ${ok}`, () => expect(isOvercommittable(name)).toBe(ok));
});

describe('resourceNameProblem', () => {
  const ok = ['cpu', 'memory', 'ephemeral-storage', 'hugepages-2Mi', 'hugepages-1Gi', 'nvidia.com/gpu', 'example.com/dongle', 'kubernetes.io/x'];
  for (const name of ok) it(`accepts ${name}`, () => expect(resourceNameProblem(name)).toBeUndefined());
  const bad: [string, string][] = [
    ['cpus', 'unknown resource "cpus": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu'],
    ['constructor', 'unknown resource "constructor": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu'],
    ['Example.com/x', 'unknown resource "Example.com/x": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu'],
    ['hugepages-big', '"hugepages-big" is not a hugepages size such as hugepages-2Mi'],
  ];
  for (const [name, message] of bad) it(`rejects ${name}`, () => expect(resourceNameProblem(name)).toBe(message));
  it('makes parseResourceList report the name with its path', () => {
    expect(parseResourceList({ cpus: '1', __proto__: '1', cpu: '1' } as Record<string, string>, 'r').problems.map((p) => p.path)).toEqual(['r.cpus']);
    expect(parseResourceList(JSON.parse('{"__proto__": "1"}'), 'r').problems).toEqual([{ path: 'r.__proto__', message: 'unknown resource "__proto__": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu' }]);
  });
});
