/**
 * Peak concurrent demand of a pipeline, per resource, computed exactly.
 *
 * Tasks that can run at the same moment are exactly the antichains of the
 * DAG's reachability order (no task of the set must finish before another of
 * it starts). The peak of one resource is therefore a maximum-weight
 * antichain, which is solved exactly as a minimum flow with lower bounds
 * (the weighted form of Dilworth's theorem): cover every task v by at least
 * w(v) units of s→t flow along dependency paths; the least total flow equals
 * the heaviest antichain, and the minimum cut names one.
 */
import { PipodError } from '@pipod/plan';
import { parseQuantity, sortResourceNames } from './resources-quantity.ts';

/** Per resource: nano-units as bigint, or a Kubernetes quantity (`500m`, `1Gi`, 2). */
export type DemandList = Readonly<Record<string, bigint | string | number>>;

/** One schedulable unit: a task's name, the tasks it waits for, and what it needs while it runs. */
export interface PeakTask {
  readonly name: string;
  /** Tasks of the same list that must finish first; names outside the list are ignored (they finished in an earlier phase). */
  readonly dependsOn: readonly string[];
  /** What the task needs while it runs (max over its steps plus its sidecars). */
  readonly demand: DemandList;
}

/** The abstract scheduling problem: the main DAG, the finally DAG run after it, and what is live all the time. */
export interface PeakInput {
  readonly tasks: readonly PeakTask[];
  /** Run after every main task ended; in Tekton they have no dependencies among themselves, so they all overlap. */
  readonly finally?: readonly PeakTask[];
  /** Live for the whole run: the supervisor and pipeline-level sidecars. */
  readonly always?: DemandList;
}

/** How the peak of one resource is reached. */
export interface ResourcePeak {
  readonly resource: string;
  /** always + max(tasksPeak, finallyPeak). */
  readonly peak: bigint;
  readonly always: bigint;
  /** Heaviest set of main tasks that can run together. */
  readonly tasksPeak: bigint;
  /** Heaviest set of finally tasks that can run together. */
  readonly finallyPeak: bigint;
  /** The phase whose tasks reach the peak (`tasks` on a tie); `none` when no task needs the resource. */
  readonly phase: 'tasks' | 'finally' | 'none';
  /** Names of the tasks with positive demand that run together at the peak, in input order. */
  readonly witness: readonly string[];
  /** What summing every task and the always-live part would give (Kubernetes' view of the same containers). */
  readonly sum: bigint;
}

/** The peak per resource, and how each was reached. */
export interface PeakResult {
  readonly peak: Readonly<Record<string, bigint>>;
  readonly witness: Readonly<Record<string, readonly string[]>>;
  readonly resources: Readonly<Record<string, ResourcePeak>>;
}

/** The task graph given to computePeak is not a DAG or names clash. */
export class PeakGraphError extends PipodError {
  constructor(message: string) {
    super('E_RESOURCES_GRAPH', message);
    this.name = 'PeakGraphError';
  }
}

/** A DAG prepared once and reused for every resource. */
interface Graph {
  readonly names: readonly string[];
  /** Pairs [u, v]: v depends on u (u ends before v starts). */
  readonly edges: readonly (readonly [number, number])[];
}

function buildGraph(tasks: readonly PeakTask[], phase: string): Graph {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (index.has(t.name)) throw new PeakGraphError(`${phase}: task "${t.name}" appears twice`);
    index.set(t.name, i);
  });
  const edges: [number, number][] = [];
  const succ: number[][] = tasks.map(() => []);
  const indeg = tasks.map(() => 0);
  tasks.forEach((t, v) => {
    for (const dep of new Set(t.dependsOn)) {
      const u = index.get(dep);
      if (u === undefined) continue;
      if (u === v) throw new PeakGraphError(`${phase}: task "${t.name}" depends on itself`);
      edges.push([u, v]);
      succ[u]?.push(v);
      indeg[v] = (indeg[v] ?? 0) + 1;
    }
  });
  // Kahn's algorithm: what cannot be ordered is on a cycle.
  const queue = indeg.flatMap((d, i) => (d === 0 ? [i] : []));
  let seen = 0;
  while (queue.length > 0) {
    const u = queue.pop() as number;
    seen++;
    for (const v of succ[u] ?? []) {
      indeg[v] = (indeg[v] ?? 0) - 1;
      if (indeg[v] === 0) queue.push(v);
    }
  }
  if (seen < tasks.length) {
    const cyclic = tasks.filter((_, i) => (indeg[i] ?? 0) > 0).map((t) => t.name);
    throw new PeakGraphError(`${phase}: dependency cycle among ${cyclic.map((n) => `"${n}"`).join(', ')}`);
  }
  return { names: tasks.map((t) => t.name), edges };
}

/**
 * Heaviest antichain of a DAG with non-negative weights: returns its weight
 * and its members (vertex indices, ascending). Exact; O(max-flow) on a
 * network of 2n+2 nodes and n·2+|E| arcs, so the transitive closure is never
 * built.
 */
export function maxWeightAntichain(n: number, edges: readonly (readonly [number, number])[], weights: readonly bigint[]): { readonly weight: bigint; readonly members: readonly number[] } {
  let total = 0n;
  for (let i = 0; i < n; i++) {
    const w = weights[i] ?? 0n;
    if (w < 0n) throw new RangeError('weights must be non-negative');
    total += w;
  }
  if (n === 0) return { weight: 0n, members: [] };
  // The network H of the residual of the trivial feasible flow (each v alone on s→v_in→v_out→t):
  // a max flow from T to S in H is the amount that can be cancelled by merging chains.
  const T = 0;
  const S = 1;
  const out = (v: number): number => 2 + 2 * v;
  const inn = (v: number): number => 3 + 2 * v;
  const flow = new Dinic(2 * n + 2);
  const INF = total + 1n;
  for (let v = 0; v < n; v++) {
    const w = weights[v] ?? 0n;
    if (w > 0n) {
      flow.addArc(T, out(v), w);
      flow.addArc(inn(v), S, w);
    }
    flow.addArc(inn(v), out(v), INF);
  }
  for (const [u, v] of edges) flow.addArc(out(u), inn(v), INF);
  const cancelled = flow.maxFlow(T, S);
  const reach = flow.residualReach(T);
  const members: number[] = [];
  for (let v = 0; v < n; v++) if (reach[out(v)] === 1 && reach[inn(v)] === 0) members.push(v);
  return { weight: total - cancelled, members };
}

/** Dinic's max flow with bigint capacities (weights are nano-units and can exceed 2^53). */
class Dinic {
  private readonly head: Int32Array;
  private readonly to: number[] = [];
  private readonly next: number[] = [];
  private readonly cap: bigint[] = [];
  private level: Int32Array;
  private iter: Int32Array;

  constructor(private readonly n: number) {
    this.head = new Int32Array(n).fill(-1);
    this.level = new Int32Array(n);
    this.iter = new Int32Array(n);
  }

  addArc(a: number, b: number, c: bigint): void {
    this.to.push(b); this.cap.push(c); this.next.push(this.head[a] ?? -1); this.head[a] = this.to.length - 1;
    this.to.push(a); this.cap.push(0n); this.next.push(this.head[b] ?? -1); this.head[b] = this.to.length - 1;
  }

  private bfs(s: number, t: number): boolean {
    this.level.fill(-1);
    const queue = new Int32Array(this.n);
    let qh = 0;
    let qt = 0;
    queue[qt++] = s;
    this.level[s] = 0;
    while (qh < qt) {
      const a = queue[qh++] as number;
      for (let e = this.head[a] as number; e !== -1; e = this.next[e] as number) {
        const b = this.to[e] as number;
        if ((this.cap[e] as bigint) > 0n && this.level[b] === -1) {
          this.level[b] = (this.level[a] as number) + 1;
          queue[qt++] = b;
        }
      }
    }
    return (this.level[t] as number) >= 0;
  }

  /** One blocking-flow augmentation along level-increasing arcs, iteratively (paths can be 2n long). */
  private augment(s: number, t: number, limit: bigint): bigint {
    const pathArcs: number[] = [];
    let a = s;
    for (;;) {
      if (a === t) {
        let pushed = limit;
        for (const e of pathArcs) if ((this.cap[e] as bigint) < pushed) pushed = this.cap[e] as bigint;
        for (const e of pathArcs) {
          this.cap[e] = (this.cap[e] as bigint) - pushed;
          this.cap[e ^ 1] = (this.cap[e ^ 1] as bigint) + pushed;
        }
        return pushed;
      }
      let advanced = false;
      for (; (this.iter[a] as number) !== -1; this.iter[a] = this.next[this.iter[a] as number] as number) {
        const e = this.iter[a] as number;
        const b = this.to[e] as number;
        if ((this.cap[e] as bigint) > 0n && this.level[b] === (this.level[a] as number) + 1) {
          pathArcs.push(e);
          a = b;
          advanced = true;
          break;
        }
      }
      if (advanced) continue;
      // Dead end: no augmenting path through `a` in this phase.
      this.level[a] = -1;
      const back = pathArcs.pop();
      if (back === undefined) return 0n;
      a = this.to[back ^ 1] as number;
      this.iter[a] = this.next[this.iter[a] as number] as number;
    }
  }

  maxFlow(s: number, t: number): bigint {
    let total = 0n;
    const huge = this.cap.reduce((m, c) => m + c, 1n);
    while (this.bfs(s, t)) {
      this.iter = Int32Array.from(this.head);
      for (;;) {
        const f = this.augment(s, t, huge);
        if (f === 0n) break;
        total += f;
      }
    }
    return total;
  }

  /** 1 for every node reachable from `s` through arcs with residual capacity (the source side of a minimum cut). */
  residualReach(s: number): Uint8Array {
    const seen = new Uint8Array(this.n);
    const stack = [s];
    seen[s] = 1;
    while (stack.length > 0) {
      const a = stack.pop() as number;
      for (let e = this.head[a] as number; e !== -1; e = this.next[e] as number) {
        const b = this.to[e] as number;
        if ((this.cap[e] as bigint) > 0n && seen[b] === 0) {
          seen[b] = 1;
          stack.push(b);
        }
      }
    }
    return seen;
  }
}

/**
 * The exact peak per resource: always + max(heaviest antichain of the main
 * tasks, heaviest antichain of the finally tasks), with the tasks that reach
 * it. Throws PeakGraphError on duplicate names or dependency cycles.
 */
export function computePeak(input: PeakInput): PeakResult {
  const fin = input.finally ?? [];
  const always = input.always ?? {};
  const amount = (list: DemandList, r: string): bigint => {
    const v = list[r];
    return v === undefined ? 0n : typeof v === 'bigint' ? v : parseQuantity(v);
  };
  const mainGraph = buildGraph(input.tasks, 'tasks');
  const finGraph = buildGraph(fin, 'finally');
  const names = new Set<string>(Object.keys(always));
  for (const t of [...input.tasks, ...fin]) for (const r of Object.keys(t.demand)) names.add(r);

  const peak: Record<string, bigint> = {};
  const witness: Record<string, readonly string[]> = {};
  const resources: Record<string, ResourcePeak> = {};
  for (const r of sortResourceNames(names)) {
    const mw = input.tasks.map((t) => amount(t.demand, r));
    const fw = fin.map((t) => amount(t.demand, r));
    const main = maxWeightAntichain(mainGraph.names.length, mainGraph.edges, mw);
    const last = maxWeightAntichain(finGraph.names.length, finGraph.edges, fw);
    const a = amount(always, r);
    if (a < 0n) throw new RangeError(`always.${r} must be non-negative`);
    const phase = main.weight === 0n && last.weight === 0n ? 'none' : main.weight >= last.weight ? 'tasks' : 'finally';
    const [graph, chosen, weights] = phase === 'finally' ? [finGraph, last, fw] : [mainGraph, main, mw];
    const w = phase === 'none' ? [] : chosen.members.filter((i) => (weights[i] ?? 0n) > 0n).map((i) => graph.names[i] as string);
    const total = [...mw, ...fw].reduce((s, x) => s + x, a);
    const p = a + (main.weight >= last.weight ? main.weight : last.weight);
    peak[r] = p;
    witness[r] = w;
    resources[r] = { resource: r, peak: p, always: a, tasksPeak: main.weight, finallyPeak: last.weight, phase, witness: w, sum: total };
  }
  return { peak, witness, resources };
}
