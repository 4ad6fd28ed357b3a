import { describe, expect, it } from 'vitest';
import { SUPERVISOR_CONTAINER } from '@pipod/plan';
import type { PlanTask } from '@pipod/plan';
import { formatQuantity, parseQuantity, planPeakRequests, type PodContainer } from '@pipod/podbuilder/resources';
import { container, plan, pod, task } from './fixtures.ts';

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

const RES = ['cpu', 'memory', 'ephemeral-storage'] as const;
const UNITS: Record<(typeof RES)[number], string[]> = { cpu: ['m', ''], memory: ['Mi', 'M', 'Gi'], 'ephemeral-storage': ['Gi', 'Mi'] };

function randomContainer(rand: () => number, name: string): PodContainer {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const r of RES) {
    const units = UNITS[r];
    const unit = units[Math.floor(rand() * units.length)] as string;
    const v = 1 + Math.floor(rand() * 900);
    const roll = rand();
    if (roll < 0.4) requests[r] = `${v}${unit}`;
    else if (roll < 0.6) limits[r] = `${v}${unit}`; // limit only: request defaults to it
    else if (roll < 0.8) {
      requests[r] = `${v}${unit}`;
      limits[r] = `${v * 2}${unit}`;
    }
  }
  return container(name, Object.keys(requests).length > 0 ? requests : undefined, Object.keys(limits).length > 0 ? limits : undefined);
}

/** Effective request of a pod container, read independently of the code under test. */
function eff(c: PodContainer, r: string): bigint {
  const q = c.resources?.requests?.[r] ?? c.resources?.limits?.[r];
  return q === undefined ? 0n : parseQuantity(q);
}

describe('planPeakRequests on random pipelines', () => {
  it('container requests sum to the brute-force peak, never exceed a limit, and limits are untouched (300 seeds)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const containers: PodContainer[] = [];
      const mk = (prefix: string, count: number, dense: boolean): PlanTask[] => {
        const out: PlanTask[] = [];
        for (let i = 0; i < count; i++) {
          const deps = dense ? out.filter(() => rand() < 0.3).map((t) => t.name) : [];
          const steps = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, j) => `s${j}`);
          const sidecars = Array.from({ length: Math.floor(rand() * 3) }, (_, j) => `c${j}`);
          const t = task(`${prefix}${i}`, deps, steps, sidecars);
          for (const x of [...t.steps, ...t.sidecars]) containers.push(randomContainer(rand, x.container));
          out.push(t);
        }
        return out;
      };
      const tasks = mk('t', Math.floor(rand() * 9), true);
      const fin = mk('f', Math.floor(rand() * 3), false);
      const psc = Array.from({ length: Math.floor(rand() * 3) }, (_, j) => `p${j}`);
      for (const s of psc) containers.push(randomContainer(rand, `pipeline-${s}`));
      const supervisor = randomContainer(rand, SUPERVISOR_CONTAINER);
      const input = pod(containers, supervisor);
      const p = plan(tasks, fin, psc);
      const { pod: out, explanation } = planPeakRequests(input, p);

      const byName = new Map(input.spec.containers.map((c) => [c.name, c]));
      for (const r of RES) {
        if (!input.spec.containers.some((c) => eff(c, r) > 0n || c.resources?.requests?.[r] !== undefined || c.resources?.limits?.[r] !== undefined) && !['cpu', 'memory'].includes(r)) continue;
        // Brute force over subsets of each phase.
        const demand = (t: PlanTask): bigint => {
          const steps = t.steps.reduce((m, s) => (eff(byName.get(s.container) as PodContainer, r) > m ? eff(byName.get(s.container) as PodContainer, r) : m), 0n);
          return t.sidecars.reduce((a, s) => a + eff(byName.get(s.container) as PodContainer, r), steps);
        };
        const best = (ts: PlanTask[]): bigint => {
          const after = new Map<string, Set<string>>();
          const reach = (n: string): Set<string> => {
            const got = after.get(n);
            if (got) return got;
            const set = new Set<string>();
            for (const t of ts) if (t.dependsOn.includes(n)) for (const x of [t.name, ...reach(t.name)]) set.add(x);
            after.set(n, set);
            return set;
          };
          let top = 0n;
          for (let mask = 0; mask < 1 << ts.length; mask++) {
            const m = ts.filter((_, i) => mask & (1 << i));
            if (m.some((a) => m.some((b) => reach(a.name).has(b.name)))) continue;
            const w = m.reduce((s, t) => s + demand(t), 0n);
            if (w > top) top = w;
          }
          return top;
        };
        const alwaysLive = [supervisor, ...psc.map((s) => byName.get(`pipeline-${s}`) as PodContainer)].reduce((a, c) => a + eff(c, r), 0n);
        const a = best(tasks);
        const b = best(fin);
        const expected = alwaysLive + (a > b ? a : b);
        const total = out.spec.containers.reduce((s, c) => s + parseQuantity(c.resources?.requests?.[r] ?? '0'), 0n);
        expect({ seed, r, total: formatQuantity(total, r) }).toEqual({ seed, r, total: formatQuantity(expected, r) });
        expect(explanation.resources.find((x) => x.resource === r)?.peak).toBe(formatQuantity(expected, r));
        for (const c of out.spec.containers) {
          const lim = c.resources?.limits?.[r];
          if (lim !== undefined) expect(parseQuantity(c.resources?.requests?.[r] ?? '0') <= parseQuantity(lim)).toBe(true);
        }
      }
      expect(out.spec.containers.map((c) => c.resources?.limits)).toEqual(input.spec.containers.map((c) => c.resources?.limits));
    }
  });
});

describe('planPeakRequests invariants under every option (200 seeds)', () => {
  it('pod strategy covers the aggregate; LimitRange min floors and max caps every container; limits are never exceeded', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(1000 + seed);
      const containers: PodContainer[] = [];
      const tasks: PlanTask[] = [];
      for (let i = 0; i < 1 + Math.floor(rand() * 6); i++) {
        const t = task(`t${i}`, tasks.filter(() => rand() < 0.3).map((x) => x.name), ['a', 'b'].slice(0, 1 + Math.floor(rand() * 2)), rand() < 0.3 ? ['svc'] : []);
        for (const x of [...t.steps, ...t.sidecars]) containers.push(randomContainer(rand, x.container));
        tasks.push(t);
      }
      const strategy = rand() < 0.5 ? 'pod' : 'containers';
      const min = rand() < 0.5 ? { cpu: `${1 + Math.floor(rand() * 50)}m` } : undefined;
      // A maximum at least as large as every limit and request as written, or the Pod was invalid to begin with.
      const max = rand() < 0.5 ? { cpu: '2000' } : undefined;
      const limitRange = { ...(min ? { min } : {}), ...(max ? { max } : {}) };
      const input = pod(containers, randomContainer(rand, SUPERVISOR_CONTAINER));
      const { pod: out, explanation } = planPeakRequests(input, plan(tasks), { strategy, limitRange });
      const cpu = explanation.resources.find((r) => r.resource === 'cpu');
      if (cpu === undefined) continue;
      const req = (c: PodContainer): bigint => parseQuantity(c.resources?.requests?.cpu ?? '0');
      const sumReq = out.spec.containers.reduce((a, c) => a + req(c), 0n);
      const initMax = (out.spec.initContainers ?? []).reduce((a, c) => (req(c) > a ? req(c) : a), 0n);
      const peakCpu = parseQuantity(cpu.peak);
      const floor = min ? parseQuantity(min.cpu) : 0n;
      const n = BigInt(out.spec.containers.length);
      const want = [peakCpu, floor * n].reduce((a, b) => (a > b ? a : b));
      if (strategy === 'pod') {
        const podReq = parseQuantity(out.spec.resources?.requests?.cpu ?? '0');
        expect({ seed, aggregateCovered: podReq >= (sumReq > initMax ? sumReq : initMax) }).toEqual({ seed, aggregateCovered: true });
        expect({ seed, podReq }).toEqual({ seed, podReq: [want, initMax].reduce((a, b) => (a > b ? a : b)) });
      } else {
        expect({ seed, sumReq }).toEqual({ seed, sumReq: want });
      }
      for (const c of [...out.spec.containers, ...(out.spec.initContainers ?? [])]) {
        if (min) expect({ seed, c: c.name, ok: req(c) >= floor }).toEqual({ seed, c: c.name, ok: true });
        if (max) expect({ seed, c: c.name, ok: req(c) <= parseQuantity(max.cpu) }).toEqual({ seed, c: c.name, ok: true });
        const lim = c.resources?.limits?.cpu;
        if (lim === undefined) continue;
        if (parseQuantity(lim) < floor) {
          // Impossible to satisfy: the API server rejects such a Pod whatever pipod does, and the explanation says so.
          expect(explanation.warnings).toContain(`cpu: LimitRange minimum ${min?.cpu} exceeds the limit ${lim} of container "${c.name}"; the API server will reject the Pod`);
        } else {
          expect({ seed, c: c.name, ok: req(c) <= parseQuantity(lim) }).toEqual({ seed, c: c.name, ok: true });
        }
      }
    }
  });
});
