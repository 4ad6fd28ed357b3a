/**
 * Pod requests at the peak concurrent demand of the pipeline, not the sum of
 * its containers. Kubernetes reserves the sum of every container's requests,
 * but in a pipod Pod a step container only works while its step runs and a
 * task's sidecars only live while the task runs. `planPeakRequests` reads the
 * container → task mapping from the ExecutionPlan and the resources from the
 * built Pod, computes the exact peak per resource (resources-peak.ts) and
 * rewrites the requests so that the Pod reserves exactly that peak. Limits
 * are never changed. See "## Resources" in docs/architecture.md.
 */
import { SUPERVISOR_CONTAINER } from '@pipod/plan';
import type { ExecutionPlan, PlanTask } from '@pipod/plan';
import { computePeak, type PeakResult, type PeakTask } from './resources-peak.ts';
import {
  formatQuantity,
  isOvercommittable,
  parseResourceList,
  sortResourceNames,
  type Amounts,
  type FieldProblem,
  type ResourceList,
} from './resources-quantity.ts';
import { ResourceError, type PodContainer, type PodObject, type ContainerLimitRange, type PeakRequestOptions, type QosClass, type ExplainedShare, type ExplainedResource, type ExplainedTask, type ExplainedContainer, type ResourceExplanation } from './resources-types.ts';

export * from './resources-quantity.ts';
export * from './resources-peak.ts';
export * from './resources-types.ts';
export { formatResourceExplanation } from './resources-format.ts';


/** Requests and limits of one container as Kubernetes will see them after defaulting. */
interface Parsed {
  readonly name: string;
  readonly index: number;
  readonly init: boolean;
  /** Explicit requests. */
  readonly requests: Record<string, bigint>;
  readonly limits: Record<string, bigint>;
}

type Role =
  | { readonly kind: 'step'; readonly task: string; readonly phase: 'tasks' | 'finally'; readonly name: string }
  | { readonly kind: 'sidecar'; readonly task: string; readonly phase: 'tasks' | 'finally'; readonly name: string }
  | { readonly kind: 'supervisor' | 'pipeline-sidecar' | 'unmapped' };

/** LimitRange defaults as the API server fills them in: default ← max, defaultRequest ← default ← min. */
function limitRangeDefaults(lr: ContainerLimitRange | undefined, problems: FieldProblem[]): { min: Amounts; max: Amounts; defLimit: Amounts; defRequest: Amounts } {
  const parse = (l: ResourceList | undefined, field: string): Record<string, bigint> => {
    const r = parseResourceList(l, `limitRange.${field}`);
    problems.push(...r.problems);
    return r.amounts;
  };
  const min = parse(lr?.min, 'min');
  const max = parse(lr?.max, 'max');
  const defLimit = { ...max, ...parse(lr?.default, 'default') };
  const defRequest = { ...min, ...defLimit, ...parse(lr?.defaultRequest, 'defaultRequest') };
  return { min, max, defLimit, defRequest };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The Pod comes as plain JSON from the builder: check the fields this module relies on. */
function podShapeProblems(pod: unknown): FieldProblem[] {
  const spec = isObject(pod) ? pod.spec : undefined;
  if (!isObject(spec)) return [{ path: 'spec', message: 'a Pod needs a spec object' }];
  const problems: FieldProblem[] = [];
  for (const field of ['containers', 'initContainers'] as const) {
    const list = spec[field];
    if (list === undefined && field === 'initContainers') continue;
    if (!Array.isArray(list)) {
      problems.push({ path: `spec.${field}`, message: 'must be a list of containers' });
      continue;
    }
    list.forEach((c: unknown, i) => {
      if (!isObject(c) || typeof c.name !== 'string') problems.push({ path: `spec.${field}[${i}].name`, message: 'a container needs a name' });
      else if (c.resources !== undefined && !isObject(c.resources)) problems.push({ path: `spec.${field}[${i}].resources`, message: 'must be an object with requests and limits' });
    });
  }
  return problems;
}

const min2 = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max2 = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const sum = (xs: Iterable<bigint>): bigint => {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
};

/** Kubernetes' QoS rule (cpu and memory only; a request defaults to its limit). */
function qosOf(containers: readonly { requests: Amounts; limits: Amounts }[], podLevel?: { requests: Amounts; limits: Amounts }): QosClass {
  const names = ['cpu', 'memory'];
  if (podLevel !== undefined && names.some((n) => (podLevel.requests[n] ?? 0n) > 0n || (podLevel.limits[n] ?? 0n) > 0n)) {
    const guaranteed = names.every((n) => (podLevel.limits[n] ?? 0n) > 0n && (podLevel.requests[n] ?? podLevel.limits[n]) === podLevel.limits[n]);
    return guaranteed ? 'Guaranteed' : 'Burstable';
  }
  const req: Record<string, bigint> = {};
  const lim: Record<string, bigint> = {};
  let guaranteed = true;
  for (const c of containers) {
    for (const n of names) {
      const r = c.requests[n] ?? c.limits[n] ?? 0n;
      const l = c.limits[n] ?? 0n;
      if (r > 0n) req[n] = (req[n] ?? 0n) + r;
      if (l > 0n) lim[n] = (lim[n] ?? 0n) + l;
      if (l === 0n) guaranteed = false;
    }
  }
  if (Object.keys(req).length === 0 && Object.keys(lim).length === 0) return 'BestEffort';
  if (guaranteed && names.every((n) => req[n] === lim[n])) return 'Guaranteed';
  return 'Burstable';
}

function fmtList(a: Amounts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of sortResourceNames(Object.keys(a))) out[r] = formatQuantity(a[r] ?? 0n, r);
  return out;
}

/**
 * Computes the peak per resource from the plan and the Pod as built and
 * returns the Pod with rewritten requests plus the explanation of every
 * number. Call it on the Pod as the builder made it (not on an already
 * rewritten one, whose step requests are 0). Throws ResourceError listing
 * every bad quantity and every plan container missing from the Pod.
 */
export function planPeakRequests<P extends object>(input: P, plan: ExecutionPlan, options: PeakRequestOptions = {}): { readonly pod: P; readonly explanation: ResourceExplanation } {
  const strategy = options.strategy ?? 'containers';
  const problems: FieldProblem[] = [];
  const warnings: string[] = [];
  const shapeProblems = podShapeProblems(input);
  if (shapeProblems.length > 0) throw new ResourceError(shapeProblems);
  const pod = input as unknown as PodObject;
  const lr = limitRangeDefaults(options.limitRange, problems);
  const overhead = parseResourceList(options.wrapperOverhead, 'wrapperOverhead');
  problems.push(...overhead.problems);

  const parseContainer = (c: PodContainer, index: number, init: boolean): Parsed => {
    const base = `spec.${init ? 'initContainers' : 'containers'}[${index}].resources`;
    const rq = parseResourceList(c.resources?.requests, `${base}.requests`);
    const lm = parseResourceList(c.resources?.limits, `${base}.limits`);
    problems.push(...rq.problems, ...lm.problems);
    return { name: c.name, index, init, requests: rq.amounts, limits: lm.amounts };
  };
  const regular = pod.spec.containers.map((c, i) => parseContainer(c, i, false));
  const inits = (pod.spec.initContainers ?? []).map((c, i) => parseContainer(c, i, true));
  for (const c of pod.spec.initContainers ?? []) {
    // Native sidecars (restartPolicy Always) run beside the containers; pipod does not generate them, and they are not modelled here.
    if (c.restartPolicy === 'Always') warnings.push(`init container "${c.name}" is a native sidecar (restartPolicy: Always); its requests are not counted in the peak`);
  }
  // The request Kubernetes ends up with: explicit, else the limit (API defaulting), else the LimitRange default request.
  const effRequest = (c: Parsed, r: string): bigint => c.requests[r] ?? c.limits[r] ?? lr.defRequest[r] ?? 0n;
  const effLimit = (c: Parsed, r: string): bigint | undefined => c.limits[r] ?? lr.defLimit[r];
  // The most a container may request: its limit and the LimitRange maximum; undefined is unbounded.
  const capOf = (c: Parsed, r: string): bigint | undefined => {
    const limit = effLimit(c, r);
    const mx = lr.max[r];
    return limit === undefined ? mx : mx === undefined ? limit : min2(limit, mx);
  };
  const effRequests = (c: Parsed, names: Iterable<string>): Record<string, bigint> => {
    const out: Record<string, bigint> = {};
    for (const r of names) {
      const v = effRequest(c, r);
      if (v > 0n || Object.hasOwn(c.requests, r) || Object.hasOwn(c.limits, r)) out[r] = v;
    }
    return out;
  };

  // Every resource any container or the LimitRange mentions.
  const names = new Set<string>([...Object.keys(lr.defRequest), ...Object.keys(lr.min), ...Object.keys(overhead.amounts)]);
  for (const c of [...regular, ...inits]) for (const r of [...Object.keys(c.requests), ...Object.keys(c.limits)]) names.add(r);
  const resourceNames = sortResourceNames(names);

  // Container → role, from the plan.
  const roles = new Map<string, Role>();
  const byName = new Map(regular.map((c) => [c.name, c]));
  const mapTask = (t: PlanTask, phase: 'tasks' | 'finally'): void => {
    t.steps.forEach((s, i) => {
      roles.set(s.container, { kind: 'step', task: t.name, phase, name: s.name });
      if (!byName.has(s.container)) problems.push({ path: `${phase}[${t.name}].steps[${i}]`, message: `the Pod has no container "${s.container}" for step "${s.name}"` });
    });
    t.sidecars.forEach((s, i) => {
      roles.set(s.container, { kind: 'sidecar', task: t.name, phase, name: s.name });
      if (!byName.has(s.container)) problems.push({ path: `${phase}[${t.name}].sidecars[${i}]`, message: `the Pod has no container "${s.container}" for sidecar "${s.name}"` });
    });
  };
  plan.tasks.forEach((t) => mapTask(t, 'tasks'));
  plan.finally.forEach((t) => mapTask(t, 'finally'));
  plan.sidecars.forEach((s, i) => {
    roles.set(s.container, { kind: 'pipeline-sidecar' });
    if (!byName.has(s.container)) problems.push({ path: `sidecars[${i}]`, message: `the Pod has no container "${s.container}" for pipeline sidecar "${s.name}"` });
  });
  if (problems.length > 0) throw new ResourceError(problems);
  const roleOf = (c: Parsed): Role => roles.get(c.name) ?? (c.name === SUPERVISOR_CONTAINER ? { kind: 'supervisor' } : { kind: 'unmapped' });
  for (const c of regular) {
    if (roleOf(c).kind === 'unmapped') warnings.push(`container "${c.name}" is not in the plan: counted as live for the whole run`);
  }

  // Demands: a task needs its largest step plus all its sidecars; the rest is always live.
  const always: Record<string, bigint> = {};
  const alwaysContainers: ExplainedContainer[] = [];
  for (const c of regular) {
    const role = roleOf(c);
    if (role.kind === 'step' || role.kind === 'sidecar') continue;
    const req = effRequests(c, resourceNames);
    for (const [r, v] of Object.entries(req)) always[r] = (always[r] ?? 0n) + v;
    alwaysContainers.push({ container: c.name, role: role.kind, requests: fmtList(req) });
  }
  const wrapped = regular.filter((c) => ['step', 'sidecar'].includes(roleOf(c).kind)).length;
  if (wrapped > 0 && Object.keys(overhead.amounts).length > 0) {
    const total: Record<string, bigint> = {};
    for (const [r, v] of Object.entries(overhead.amounts)) {
      total[r] = v * BigInt(wrapped);
      always[r] = (always[r] ?? 0n) + (total[r] ?? 0n);
    }
    alwaysContainers.push({ container: `${wrapped} wrappers × ${Object.entries(overhead.amounts).map(([r, v]) => `${formatQuantity(v, r)} ${r}`).join(', ')}`, role: 'wrappers', requests: fmtList(total) });
  }
  const explainTask = (t: PlanTask, phase: 'tasks' | 'finally'): { peak: PeakTask & { demand: Amounts }; explained: ExplainedTask } => {
    const demand: Record<string, bigint> = {};
    const steps = t.steps.map((s) => {
      const req = effRequests(byName.get(s.container) as Parsed, resourceNames);
      for (const [r, v] of Object.entries(req)) demand[r] = max2(demand[r] ?? 0n, v);
      return { container: s.container, step: s.name, requests: fmtList(req) };
    });
    const sidecars = t.sidecars.map((s) => {
      const req = effRequests(byName.get(s.container) as Parsed, resourceNames);
      for (const [r, v] of Object.entries(req)) demand[r] = (demand[r] ?? 0n) + v;
      return { container: s.container, sidecar: s.name, requests: fmtList(req) };
    });
    return { peak: { name: t.name, dependsOn: t.dependsOn, demand }, explained: { name: t.name, phase, dependsOn: t.dependsOn, demand: fmtList(demand), steps, sidecars } };
  };
  const mainTasks = plan.tasks.map((t) => explainTask(t, 'tasks'));
  const finTasks = plan.finally.map((t) => explainTask(t, 'finally'));
  const peak: PeakResult = computePeak({ tasks: mainTasks.map((t) => t.peak), finally: finTasks.map((t) => t.peak), always });
  const demandOf = new Map([...mainTasks, ...finTasks].map((t) => [t.peak.name, t.peak.demand]));

  // Decide every container's request per resource.
  const assigned = regular.map(() => ({}) as Record<string, bigint>);
  const initAssigned = inits.map(() => ({}) as Record<string, bigint>);
  const podLevel: Record<string, bigint> = {};
  const supervisorFirst = [...regular.keys()].sort((a, b) => Number(regular[b]?.name === SUPERVISOR_CONTAINER) - Number(regular[a]?.name === SUPERVISOR_CONTAINER) || a - b);
  const explainedResources: ExplainedResource[] = [];
  for (const r of resourceNames) {
    const info = peak.resources[r];
    const p = info?.peak ?? 0n;
    const notes: string[] = [];
    const writtenSum = sum(regular.map((c) => effRequest(c, r)));
    const minR = lr.min[r];
    // Init containers keep their requests; a LimitRange minimum still applies to them.
    inits.forEach((c, i) => {
      if (minR === undefined || effRequest(c, r) >= minR) return;
      const cap = capOf(c, r);
      if (cap !== undefined && minR > cap) warnings.push(`${r}: LimitRange minimum ${formatQuantity(minR, r)} exceeds the limit ${formatQuantity(cap, r)} of init container "${c.name}"; the API server will reject the Pod`);
      notes.push(`init container "${c.name}" raised to the LimitRange minimum ${formatQuantity(minR, r)}`);
      (initAssigned[i] as Record<string, bigint>)[r] = minR;
    });
    const initMax = inits.reduce((m, c, i) => max2(m, initAssigned[i]?.[r] ?? effRequest(c, r)), 0n);
    const writtenInitMax = inits.reduce((m, c) => max2(m, effRequest(c, r)), 0n);
    const asWritten = max2(writtenSum, writtenInitMax);
    const overlapping = (info?.witness ?? []).map((task) => ({ task, demand: formatQuantity(demandOf.get(task)?.[r] ?? 0n, r) }));
    const base = {
      resource: r,
      asWritten: formatQuantity(asWritten, r),
      peak: formatQuantity(p, r),
      always: formatQuantity(info?.always ?? 0n, r),
      tasksPeak: formatQuantity(info?.tasksPeak ?? 0n, r),
      finallyPeak: formatQuantity(info?.finallyPeak ?? 0n, r),
      phase: info?.phase ?? 'none',
      overlapping,
    } as const;

    if (!isOvercommittable(r)) {
      notes.push(r.startsWith('hugepages-')
        ? 'kept as written: hugepages need request == limit in each container'
        : 'kept as written: extended resources need request == limit and are bound to the container that asks for them, so one pod needs the sum');
      explainedResources.push({ ...base, podRequest: formatQuantity(asWritten, r), rewritten: false, placement: [], notes });
      continue;
    }

    const mentioned = p > 0n || minR !== undefined || Object.hasOwn(lr.defRequest, r) || regular.some((c) => Object.hasOwn(c.requests, r) || Object.hasOwn(c.limits, r));
    if (!mentioned) {
      // Only init containers ask for it: nothing to move, and no reason to write zeros everywhere.
      notes.push('only init containers request it');
      explainedResources.push({ ...base, podRequest: formatQuantity(asWritten, r), rewritten: false, placement: [], notes });
      continue;
    }
    const floors = regular.map(() => minR ?? 0n);
    const floorSum = sum(floors);
    regular.forEach((c, i) => {
      const cap = capOf(c, r);
      if (cap !== undefined && (floors[i] ?? 0n) > cap) warnings.push(`${r}: LimitRange minimum ${formatQuantity(minR ?? 0n, r)} exceeds the limit ${formatQuantity(cap, r)} of container "${c.name}"; the API server will reject the Pod`);
    });
    if (minR !== undefined && floorSum > p) {
      notes.push(`every container must request at least the LimitRange minimum ${formatQuantity(minR, r)}: ${regular.length} × ${formatQuantity(minR, r)} = ${formatQuantity(floorSum, r)} > peak ${formatQuantity(p, r)}`);
    }
    const usePod = strategy === 'pod' && (r === 'cpu' || r === 'memory');
    regular.forEach((_, i) => ((assigned[i] as Record<string, bigint>)[r] = floors[i] ?? 0n));
    let placement: ExplainedShare[];
    let podRequest: bigint;
    if (usePod) {
      // The API server requires the pod-level request to cover the aggregate of the containers' (and init containers') requests.
      podRequest = max2(max2(p, floorSum), initMax);
      podLevel[r] = podRequest;
      placement = [{ container: 'spec.resources', request: formatQuantity(podRequest, r) }];
      if (initMax > max2(p, floorSum)) notes.push(`the pod-level request covers the largest init container (${formatQuantity(initMax, r)})`);
    } else {
      // Water-fill the rest above the floors: the supervisor first (it is idle, so its share is only a reservation), then containers in Pod order, each up to its limit and the LimitRange maximum.
      let extra = p > floorSum ? p - floorSum : 0n;
      for (const i of supervisorFirst) {
        if (extra === 0n) break;
        const c = regular[i] as Parsed;
        const cap = capOf(c, r);
        const have = (assigned[i] as Record<string, bigint>)[r] ?? 0n;
        const room = cap === undefined ? extra : cap > have ? cap - have : 0n;
        const give = min2(room, extra);
        (assigned[i] as Record<string, bigint>)[r] = have + give;
        extra -= give;
      }
      if (extra > 0n) warnings.push(`${r}: ${formatQuantity(extra, r)} of the peak could not be placed: every container is at its limit or the LimitRange maximum`);
      const total = sum(assigned.map((a) => a[r] ?? 0n));
      podRequest = max2(total, initMax);
      if (initMax > total) notes.push(`the init container needs more (${formatQuantity(initMax, r)}); the scheduler reserves max(containers, init containers)`);
      placement = regular.flatMap((c, i) => ((assigned[i]?.[r] ?? 0n) > 0n ? [{ container: c.name, request: formatQuantity(assigned[i]?.[r] ?? 0n, r) }] : []));
    }
    explainedResources.push({ ...base, podRequest: formatQuantity(podRequest, r), rewritten: true, placement, notes });
  }

  // Write the new Pod: only requests of overcommittable resources change; limits and everything else stay.
  const rewrite = (c: PodContainer, a: Record<string, bigint> | undefined): PodContainer => {
    if (a === undefined || Object.keys(a).length === 0) return c;
    const requests: Record<string, string | number> = { ...(c.resources?.requests ?? {}) };
    for (const [r, v] of Object.entries(a)) requests[r] = formatQuantity(v, r);
    const sorted: Record<string, string | number> = {};
    for (const r of sortResourceNames(Object.keys(requests))) sorted[r] = requests[r] as string | number;
    return { ...c, resources: { ...(c.resources ?? {}), requests: sorted } };
  };
  const spec = { ...pod.spec, containers: pod.spec.containers.map((c, i) => rewrite(c, assigned[i])) };
  if (pod.spec.initContainers !== undefined) spec.initContainers = pod.spec.initContainers.map((c, i) => rewrite(c, initAssigned[i]));
  if (Object.keys(podLevel).length > 0) {
    spec.resources = { ...(pod.spec.resources ?? {}), requests: { ...(pod.spec.resources?.requests ?? {}), ...fmtList(podLevel) } };
  }
  const out = { ...pod, spec } as unknown as P;

  const afterContainers = [
    ...regular.map((c, i) => ({ requests: { ...c.requests, ...(assigned[i] ?? {}) }, limits: c.limits })),
    ...inits.map((c, i) => ({ requests: { ...c.requests, ...(initAssigned[i] ?? {}) }, limits: c.limits })),
  ];
  const qos = {
    before: qosOf([...regular, ...inits]),
    after: qosOf(afterContainers, Object.keys(podLevel).length > 0 ? { requests: podLevel, limits: {} } : undefined),
  };
  if (qos.before === 'Guaranteed' && qos.after !== 'Guaranteed') {
    warnings.push(`QoS changes from Guaranteed to ${qos.after}: Guaranteed needs requests == limits in every container, which reserves the sum again`);
  }

  const explanation: ResourceExplanation = {
    strategy,
    resources: explainedResources,
    tasks: [...mainTasks, ...finTasks].map((t) => t.explained),
    always: alwaysContainers,
    init: inits.map((c) => ({ container: c.name, role: 'init', requests: fmtList(effRequests(c, resourceNames)) })),
    qos,
    warnings,
  };
  return { pod: out, explanation };
}

/** Returns a new Pod whose requests sum to the peak concurrent demand per resource (limits unchanged); the builder's last step. */
export function applyPeakRequests<P extends object>(pod: P, plan: ExecutionPlan, options: PeakRequestOptions = {}): P {
  return planPeakRequests(pod, plan, options).pod;
}

/** How the peak of every resource was reached, for `pipod build --explain-resources` (pass the Pod before applyPeakRequests). */
export function explainResources(pod: object, plan: ExecutionPlan, options: PeakRequestOptions = {}): ResourceExplanation {
  return planPeakRequests(pod, plan, options).explanation;
}
