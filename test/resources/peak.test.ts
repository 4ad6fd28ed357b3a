import { describe, expect, it } from 'vitest';
import { computePeak, maxWeightAntichain, PeakGraphError, type Amounts, type PeakTask as AnyPeakTask } from '@pipod/podbuilder/resources';

/** The generated tasks carry bigint demands only. */
type PeakTask = AnyPeakTask & { readonly demand: Amounts };

/** mulberry32: a tiny seeded PRNG so every failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RESOURCES = ['cpu', 'memory', 'ephemeral-storage', 'nvidia.com/gpu'] as const;

/** Random DAG over names p0..p(n-1): edges only from lower to higher index, then names shuffled into input order. */
function randomTasks(rand: () => number, prefix: string, n: number, density: number): PeakTask[] {
  const tasks: PeakTask[] = [];
  for (let i = 0; i < n; i++) {
    const dependsOn: string[] = [];
    for (let j = 0; j < i; j++) if (rand() < density) dependsOn.push(`${prefix}${j}`);
    const demand: Record<string, bigint> = {};
    for (const r of RESOURCES) {
      if (rand() < 0.2) continue; // absent resource
      // Mostly small values, sometimes huge ones (beyond 2^53 nano-units) and zeros.
      const roll = rand();
      demand[r] = roll < 0.1 ? 0n : roll < 0.2 ? BigInt(Math.floor(rand() * 1e6)) * 10n ** 12n : BigInt(Math.floor(rand() * 1000)) * 1_000_000n;
    }
    tasks.push({ name: `${prefix}${i}`, dependsOn, demand });
  }
  // Input order must not matter: shuffle.
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [tasks[i], tasks[j]] = [tasks[j] as PeakTask, tasks[i] as PeakTask];
  }
  return tasks;
}

/** Reachability by DFS: reach[a] holds every task that must wait for a (directly or not). */
function reachability(tasks: readonly PeakTask[]): Map<string, Set<string>> {
  const succ = new Map<string, string[]>(tasks.map((t) => [t.name, []]));
  for (const t of tasks) for (const d of t.dependsOn) succ.get(d)?.push(t.name);
  const reach = new Map<string, Set<string>>();
  for (const t of tasks) {
    const seen = new Set<string>();
    const stack = [...(succ.get(t.name) ?? [])];
    while (stack.length > 0) {
      const x = stack.pop() as string;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...(succ.get(x) ?? []));
    }
    reach.set(t.name, seen);
  }
  return reach;
}

/** Brute force: every subset, keep the antichains, take the heaviest. */
function bruteForce(tasks: readonly PeakTask[], r: string): bigint {
  const reach = reachability(tasks);
  let best = 0n;
  for (let mask = 0; mask < 1 << tasks.length; mask++) {
    const members = tasks.filter((_, i) => mask & (1 << i));
    const ok = members.every((a) => members.every((b) => a === b || !reach.get(a.name)?.has(b.name)));
    if (!ok) continue;
    const w = members.reduce((s, t) => s + (t.demand[r] ?? 0n), 0n);
    if (w > best) best = w;
  }
  return best;
}

describe('computePeak against brute force on random DAGs', () => {
  it('matches the heaviest antichain for 600 seeded cases, with finally tasks and always-live containers', () => {
    let nonTrivial = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const rand = prng(seed);
      const n = Math.floor(rand() * 11); // 0..10 main tasks
      const density = [0, 0.15, 0.35, 0.7, 1][Math.floor(rand() * 5)] as number;
      const tasks = randomTasks(rand, 't', n, density);
      // Tekton finally tasks have no dependencies among themselves; a few cases still give them some to check the general case.
      const finallyTasks = randomTasks(rand, 'f', Math.floor(rand() * 4), seed % 7 === 0 ? 0.5 : 0);
      const always: Record<string, bigint> = rand() < 0.7 ? { cpu: 100_000_000n, memory: 64n * 2n ** 20n * 10n ** 9n } : {};
      const result = computePeak({ tasks, finally: finallyTasks, always });
      for (const r of RESOURCES) {
        const expected = (always[r] ?? 0n) + [bruteForce(tasks, r), bruteForce(finallyTasks, r)].reduce((a, b) => (a > b ? a : b));
        const got = result.peak[r] ?? 0n;
        expect({ seed, r, got }).toEqual({ seed, r, got: expected });
        const info = result.resources[r];
        if (info === undefined) continue;
        // The witness is a real antichain of one phase whose demands add up to the phase's peak.
        const phaseTasks = info.phase === 'finally' ? finallyTasks : tasks;
        const reach = reachability(phaseTasks);
        const byName = new Map(phaseTasks.map((t) => [t.name, t]));
        const sum = info.witness.reduce((s, name) => s + (byName.get(name)?.demand[r] ?? 0n), 0n);
        expect({ seed, r, sum }).toEqual({ seed, r, sum: info.phase === 'finally' ? info.finallyPeak : info.tasksPeak });
        for (const a of info.witness) for (const b of info.witness) expect(reach.get(a)?.has(b) ?? false).toBe(false);
        if (info.witness.length > 1 && info.peak < info.sum) nonTrivial++;
      }
    }
    // The generator must produce cases where overlap matters, or the test proves little.
    expect(nonTrivial).toBeGreaterThan(300);
  });
});

describe('maxWeightAntichain on known shapes', () => {
  const table: { name: string; n: number; edges: [number, number][]; w: bigint[]; weight: bigint; members: number[] }[] = [
    { name: 'empty', n: 0, edges: [], w: [], weight: 0n, members: [] },
    { name: 'chain keeps the heaviest', n: 3, edges: [[0, 1], [1, 2]], w: [3n, 5n, 4n], weight: 5n, members: [1] },
    { name: 'fan-out adds the branches', n: 4, edges: [[0, 1], [0, 2], [0, 3]], w: [10n, 2n, 3n, 4n], weight: 10n, members: [0] },
    { name: 'fan-out branches win', n: 4, edges: [[0, 1], [0, 2], [0, 3]], w: [1n, 2n, 3n, 4n], weight: 9n, members: [1, 2, 3] },
    { name: 'diamond', n: 4, edges: [[0, 1], [0, 2], [1, 3], [2, 3]], w: [1n, 2n, 3n, 1n], weight: 5n, members: [1, 2] },
    // 0→1→2 and 3→4: 2 and 3 overlap although only the transitive order says 0 < 2.
    { name: 'two chains cross', n: 5, edges: [[0, 1], [1, 2], [3, 4]], w: [1n, 1n, 7n, 6n, 1n], weight: 13n, members: [2, 3] },
    { name: 'transitivity matters (N shape)', n: 4, edges: [[0, 1], [2, 1], [2, 3]], w: [5n, 1n, 1n, 5n], weight: 10n, members: [0, 3] },
  ];
  for (const c of table) {
    it(c.name, () => {
      expect(maxWeightAntichain(c.n, c.edges, c.w)).toEqual({ weight: c.weight, members: c.members });
    });
  }
});

describe('computePeak rejects graphs that are not DAGs', () => {
  it('names a cycle', () => {
    const d = { cpu: 1n };
    expect(() => computePeak({ tasks: [{ name: 'a', dependsOn: ['b'], demand: d }, { name: 'b', dependsOn: ['a'], demand: d }, { name: 'c', dependsOn: [], demand: d }] })).toThrow(
      new PeakGraphError('tasks: dependency cycle among "a", "b"'),
    );
  });
  it('names a duplicate', () => {
    expect(() => computePeak({ tasks: [], finally: [{ name: 'x', dependsOn: [], demand: {} }, { name: 'x', dependsOn: [], demand: {} }] })).toThrow('finally: task "x" appears twice');
  });
  it('ignores dependencies on tasks of another phase', () => {
    const r = computePeak({ tasks: [{ name: 'a', dependsOn: [], demand: { cpu: 5n } }], finally: [{ name: 'f', dependsOn: ['a'], demand: { cpu: 7n } }, { name: 'g', dependsOn: [], demand: { cpu: 1n } }] });
    expect(r.resources.cpu).toMatchObject({ peak: 8n, tasksPeak: 5n, finallyPeak: 8n, phase: 'finally', witness: ['f', 'g'], sum: 13n });
  });
});

describe('computePeak takes Kubernetes quantities too', () => {
  it('parses strings and numbers exactly', () => {
    const r = computePeak({
      tasks: [{ name: 'a', dependsOn: [], demand: { cpu: '100m', memory: '512Mi' } }, { name: 'b', dependsOn: [], demand: { cpu: 0.25, memory: '500M' } }],
      always: { cpu: 1_000_000n },
    });
    expect(r.peak).toEqual({ cpu: 351_000_000n, memory: (512n * 2n ** 20n + 500_000_000n) * 1_000_000_000n });
  });
  it('rejects a negative demand', () => {
    expect(() => computePeak({ tasks: [{ name: 'a', dependsOn: [], demand: { cpu: '-1' } }] })).toThrow('weights must be non-negative');
  });
});
