import { describe, expect, it } from 'vitest';
import { SUPERVISOR_CONTAINER } from '@pipod/plan';
import { applyPeakRequests, explainResources, formatResourceExplanation, planPeakRequests, ResourceError } from '@pipod/podbuilder/resources';
import { container, plan, pod, requestsOf, task } from './fixtures.ts';

// clone → {build, test (with a database sidecar), lint} → report
const fanOutPlan = plan([
  task('clone', [], ['git']),
  task('build', ['clone'], ['compile', 'package']),
  task('test', ['clone'], ['unit'], ['db']),
  task('lint', ['clone'], ['check']),
  task('report', ['build', 'test', 'lint'], ['send']),
]);
const fanOutPod = pod([
  container('clone-git', { cpu: '200m', memory: '128Mi' }),
  container('build-compile', { cpu: '1', memory: '1Gi' }, { cpu: '2', memory: '3Gi' }),
  container('build-package', { cpu: '500m', memory: '2Gi' }),
  container('test-unit', { cpu: '750m', memory: '512Mi' }),
  container('test-db', { cpu: '250m', memory: '256Mi' }),
  container('lint-check', { cpu: '0.3', memory: '256Mi' }),
  container('report-send', { cpu: '100m', memory: '64Mi' }),
]);

describe('applyPeakRequests', () => {
  it('fan-out: the supervisor requests the peak (build ‖ test+db ‖ lint), every other container 0, limits untouched', () => {
    const out = applyPeakRequests(fanOutPod, fanOutPlan);
    expect(requestsOf(out)).toEqual({
      'pipod-init': { cpu: '100m', memory: '64Mi' },
      // 50m + 1 + (750m + 250m) + 300m; 32Mi + 2Gi + (512Mi + 256Mi) + 256Mi
      'pipod-supervisor': { cpu: '2350m', memory: '3104Mi' },
      'clone-git': { cpu: '0', memory: '0' },
      'build-compile': { cpu: '0', memory: '0' },
      'build-package': { cpu: '0', memory: '0' },
      'test-unit': { cpu: '0', memory: '0' },
      'test-db': { cpu: '0', memory: '0' },
      'lint-check': { cpu: '0', memory: '0' },
      'report-send': { cpu: '0', memory: '0' },
    });
    expect(out.spec.containers.find((c) => c.name === 'build-compile')?.resources?.limits).toEqual({ cpu: '2', memory: '3Gi' });
    // The input is not mutated.
    expect(fanOutPod.spec.containers[0]?.resources?.requests).toEqual({ cpu: '50m', memory: '32Mi' });
  });

  it('fan-out: the explanation names the overlapping tasks and their demands', () => {
    const e = explainResources(fanOutPod, fanOutPlan);
    expect(e.resources.map((r) => [r.resource, r.asWritten, r.peak, r.podRequest, r.phase, r.overlapping])).toEqual([
      ['cpu', '3150m', '2350m', '2350m', 'tasks', [{ task: 'build', demand: '1' }, { task: 'test', demand: '1' }, { task: 'lint', demand: '300m' }]],
      ['memory', '4320Mi', '3104Mi', '3104Mi', 'tasks', [{ task: 'build', demand: '2Gi' }, { task: 'test', demand: '768Mi' }, { task: 'lint', demand: '256Mi' }]],
    ]);
    expect(e.tasks.find((t) => t.name === 'test')).toEqual({
      name: 'test', phase: 'tasks', dependsOn: ['clone'], demand: { cpu: '1', memory: '768Mi' },
      steps: [{ container: 'test-unit', step: 'unit', requests: { cpu: '750m', memory: '512Mi' } }],
      sidecars: [{ container: 'test-db', sidecar: 'db', requests: { cpu: '250m', memory: '256Mi' } }],
    });
    expect(e.always).toEqual([{ container: 'pipod-supervisor', role: 'supervisor', requests: { cpu: '50m', memory: '32Mi' } }]);
    expect(e.qos).toEqual({ before: 'Burstable', after: 'Burstable' });
    expect(e.warnings).toEqual([]);
  });

  it('chain: only the largest task counts; a limit without a request counts as its limit and gets an explicit 0', () => {
    const p = plan([task('a', [], ['s1', 's2']), task('b', ['a'], ['s']), task('c', ['b'], ['s'])]);
    const out = planPeakRequests(pod([
      container('a-s1', undefined, { cpu: '1500m', memory: '1Gi' }),
      container('a-s2', { cpu: '200m' }),
      container('b-s', { memory: '2Gi' }),
      container('c-s', { cpu: '1', 'ephemeral-storage': '10Gi' }),
    ]), p);
    expect(requestsOf(out.pod)).toEqual({
      'pipod-init': { cpu: '100m', memory: '64Mi' },
      'pipod-supervisor': { cpu: '1550m', memory: '2080Mi', 'ephemeral-storage': '10Gi' },
      'a-s1': { cpu: '0', memory: '0', 'ephemeral-storage': '0' },
      'a-s2': { cpu: '0', memory: '0', 'ephemeral-storage': '0' },
      'b-s': { cpu: '0', memory: '0', 'ephemeral-storage': '0' },
      'c-s': { cpu: '0', memory: '0', 'ephemeral-storage': '0' },
    });
    expect(out.explanation.resources.map((r) => [r.resource, r.asWritten, r.podRequest, r.overlapping.map((o) => o.task)])).toEqual([
      ['cpu', '2750m', '1550m', ['a']],
      ['memory', '3104Mi', '2080Mi', ['b']],
      ['ephemeral-storage', '10Gi', '10Gi', ['c']],
    ]);
  });

  it('sidecar-heavy: pipeline sidecars are always live, and the finally tasks (all concurrent) can set the peak', () => {
    const p = plan(
      [task('e2e-a', [], ['run'], ['web', 'db', 'cache']), task('e2e-b', [], ['run'], ['web', 'db', 'cache'])],
      [task('cleanup', [], ['rm']), task('notify', [], ['send'])],
      ['registry'],
    );
    const side = { cpu: '250m', memory: '256Mi' };
    const out = planPeakRequests(pod([
      container('e2e-a-run', { cpu: '500m', memory: '512Mi' }), container('e2e-a-web', side), container('e2e-a-db', side), container('e2e-a-cache', side),
      container('e2e-b-run', { cpu: '1', memory: '1Gi' }), container('e2e-b-web', side), container('e2e-b-db', side), container('e2e-b-cache', side),
      container('cleanup-rm', { cpu: '4', memory: '64Mi' }),
      container('notify-send', { cpu: '100m', memory: '32Mi' }),
      container('pipeline-registry', { cpu: '200m', memory: '256Mi' }),
    ]), p);
    const cpu = out.explanation.resources[0];
    const memory = out.explanation.resources[1];
    // cpu: finally 4100m beats the tasks' 1250m + 1750m; always = 50m + 200m.
    expect(cpu).toMatchObject({ resource: 'cpu', peak: '4350m', always: '250m', tasksPeak: '3', finallyPeak: '4100m', phase: 'finally', overlapping: [{ task: 'cleanup', demand: '4' }, { task: 'notify', demand: '100m' }] });
    // memory: the two e2e tasks with three sidecars each (1280Mi + 1792Mi) beat finally's 96Mi.
    expect(memory).toMatchObject({ resource: 'memory', peak: '3360Mi', always: '288Mi', tasksPeak: '3Gi', finallyPeak: '96Mi', phase: 'tasks' });
    expect(requestsOf(out.pod)[SUPERVISOR_CONTAINER]).toEqual({ cpu: '4350m', memory: '3360Mi' });
    expect(out.explanation.always.map((c) => [c.container, c.role])).toEqual([['pipod-supervisor', 'supervisor'], ['pipeline-registry', 'pipeline-sidecar']]);
  });

  it('a supervisor with a limit takes what fits; the rest goes to the next containers in Pod order, each up to its limit', () => {
    const p = plan([task('a', [], ['s']), task('b', [], ['s'])]);
    const out = applyPeakRequests(pod(
      [container('a-s', { memory: '1Gi' }, { memory: '1Gi' }), container('b-s', { memory: '1Gi' })],
      container(SUPERVISOR_CONTAINER, { memory: '32Mi' }, { memory: '64Mi' }),
    ), p);
    // Peak 32Mi + 2Gi: supervisor 64Mi (its limit), a-s 1Gi (its limit), b-s the remaining 992Mi.
    expect(requestsOf(out)).toMatchObject({ 'pipod-supervisor': { memory: '64Mi' }, 'a-s': { memory: '1Gi' }, 'b-s': { memory: '992Mi' } });
  });

  it('pod strategy: cpu and memory move to spec.resources, containers request 0; other resources stay per container', () => {
    const out = applyPeakRequests(fanOutPod, fanOutPlan, { strategy: 'pod' });
    expect(out.spec.resources).toEqual({ requests: { cpu: '2350m', memory: '3104Mi' } });
    expect(new Set(out.spec.containers.map((c) => JSON.stringify(c.resources?.requests)))).toEqual(new Set([JSON.stringify({ cpu: '0', memory: '0' })]));
    const withStorage = applyPeakRequests(pod([container('a-s', { cpu: '1', 'ephemeral-storage': '1Gi' })]), plan([task('a', [], ['s'])]), { strategy: 'pod' });
    // memory: the peak is the supervisor's 32Mi, but the init container asks 64Mi and the pod level must cover it.
    expect(withStorage.spec.resources).toEqual({ requests: { cpu: '1050m', memory: '64Mi' } });
    expect(requestsOf(withStorage)).toMatchObject({ 'pipod-supervisor': { cpu: '0', memory: '0', 'ephemeral-storage': '1Gi' }, 'a-s': { cpu: '0', 'ephemeral-storage': '0' } });
  });

  it('pod strategy: the pod-level request covers a larger init container, as the API server demands', () => {
    const out = planPeakRequests(pod([container('a-s', { memory: '100Mi' })]), plan([task('a', [], ['s'])]), { strategy: 'pod' });
    // Peak memory is 32Mi + 100Mi = 132Mi; init asks 64Mi; cpu peak 50m vs init 100m.
    expect(out.pod.spec.resources).toEqual({ requests: { cpu: '100m', memory: '132Mi' } });
    expect(out.explanation.resources[0]?.notes).toEqual(['the pod-level request covers the largest init container (100m)']);
  });

  it('extended resources and hugepages are kept as written, because each container is bound to its own devices/pages', () => {
    const p = plan([task('a', [], ['train']), task('b', ['a'], ['eval'])]);
    const gpu = { 'nvidia.com/gpu': '1', 'hugepages-2Mi': '4Mi' };
    const out = planPeakRequests(pod([container('a-train', { cpu: '1', ...gpu }, gpu), container('b-eval', { cpu: '1', ...gpu }, gpu)]), p);
    expect(requestsOf(out.pod)).toMatchObject({ 'a-train': { cpu: '0', ...gpu }, 'b-eval': { cpu: '0', ...gpu } });
    const byName = Object.fromEntries(out.explanation.resources.map((r) => [r.resource, r]));
    expect(byName['nvidia.com/gpu']).toMatchObject({ asWritten: '2', peak: '1', podRequest: '2', rewritten: false, placement: [] });
    expect(byName['hugepages-2Mi']).toMatchObject({ asWritten: '8Mi', peak: '4Mi', podRequest: '8Mi', rewritten: false });
  });

  it('a LimitRange minimum floors every container; the pod request is then max(peak, sum of minimums), said in a note', () => {
    const lr = { min: { cpu: '100m' } };
    const out = planPeakRequests(fanOutPod, fanOutPlan, { limitRange: lr });
    const r = requestsOf(out.pod);
    // 8 containers × 100m = 800m floor; the peak 2350m is reached by giving the supervisor 100m + 1550m.
    expect(r['pipod-supervisor']).toMatchObject({ cpu: '1650m' });
    expect(r['clone-git']).toMatchObject({ cpu: '100m' });
    expect(out.explanation.resources[0]).toMatchObject({ podRequest: '2350m', notes: [] });
    // A chain of tiny tasks: the minimums dominate.
    const small = planPeakRequests(pod([container('a-s', { cpu: '10m' }), container('b-s', { cpu: '10m' }), container('c-s', { cpu: '10m' })], container(SUPERVISOR_CONTAINER, { cpu: '10m' })), plan([task('a', [], ['s']), task('b', ['a'], ['s']), task('c', ['b'], ['s'])]), { limitRange: { min: { cpu: '50m' } } });
    expect(small.explanation.resources[0]).toMatchObject({ peak: '20m', podRequest: '200m', notes: ['every container must request at least the LimitRange minimum 50m: 4 × 50m = 200m > peak 20m'] });
    expect(new Set(small.pod.spec.containers.map((c) => c.resources?.requests?.cpu))).toEqual(new Set(['50m']));
  });

  it('a LimitRange default request counts as the demand of containers that ask for nothing, and explicit zeros stop it multiplying', () => {
    const p = plan([task('a', [], ['s']), task('b', ['a'], ['s']), task('c', ['b'], ['s'])]);
    const out = planPeakRequests(pod([container('a-s'), container('b-s'), container('c-s')], container(SUPERVISOR_CONTAINER), container('pipod-init')), p, { limitRange: { default: { memory: '256Mi' } } });
    // The default limit defaults the default request: each of the 4 containers would request 256Mi; init keeps its own.
    expect(out.explanation.resources).toMatchObject([{ resource: 'memory', asWritten: '1Gi', peak: '512Mi', podRequest: '512Mi' }]);
    expect(requestsOf(out.pod)).toEqual({ 'pipod-init': undefined, 'pipod-supervisor': { memory: '256Mi' }, 'a-s': { memory: '256Mi' }, 'b-s': { memory: '0' }, 'c-s': { memory: '0' } });
  });

  it('a LimitRange maximum caps each container, so the peak is spread', () => {
    const p = plan([task('a', [], ['s']), task('b', [], ['s'])]);
    const out = applyPeakRequests(pod([container('a-s', { cpu: '2' }), container('b-s', { cpu: '2' })], container(SUPERVISOR_CONTAINER, { cpu: '0' })), p, { limitRange: { max: { cpu: '3' } } });
    expect(requestsOf(out)).toMatchObject({ 'pipod-supervisor': { cpu: '3' }, 'a-s': { cpu: '1' }, 'b-s': { cpu: '0' } });
  });

  it('a LimitRange maximum alone also defaults the limit and the request of containers that ask for nothing (API server defaulting)', () => {
    const p = plan([task('a', [], ['s']), task('b', [], ['s'])]);
    const out = planPeakRequests(pod([container('a-s', { cpu: '2' }), container('b-s', { cpu: '2' })], container(SUPERVISOR_CONTAINER)), p, { limitRange: { max: { cpu: '3' } } });
    // The supervisor would request 3 (max → default → defaultRequest): peak 3 + 2 + 2 = 7, at most 3 per container.
    expect(out.explanation.resources[0]).toMatchObject({ resource: 'cpu', asWritten: '7', peak: '7', podRequest: '7' });
    expect(requestsOf(out.pod)).toMatchObject({ 'pipod-supervisor': { cpu: '3' }, 'a-s': { cpu: '3' }, 'b-s': { cpu: '1' } });
  });

  it('reports the QoS change when the Pod was Guaranteed', () => {
    const g = { cpu: '1', memory: '1Gi' };
    const e = explainResources(pod([container('a-s', g, g), container('b-s', g, g)], container(SUPERVISOR_CONTAINER, g, g), container('pipod-init', g, g)), plan([task('a', [], ['s']), task('b', ['a'], ['s'])]));
    expect(e.qos).toEqual({ before: 'Guaranteed', after: 'Burstable' });
    expect(e.warnings).toEqual(['QoS changes from Guaranteed to Burstable: Guaranteed needs requests == limits in every container, which reserves the sum again']);
  });

  it('leaves a Pod without any resources alone (BestEffort stays BestEffort)', () => {
    const bare = pod([container('a-s')], container(SUPERVISOR_CONTAINER), container('pipod-init'));
    const out = planPeakRequests(bare, plan([task('a', [], ['s'])]));
    expect(out.pod).toEqual(bare);
    expect(out.explanation.qos).toEqual({ before: 'BestEffort', after: 'BestEffort' });
  });

  it('is idempotent', () => {
    const once = applyPeakRequests(fanOutPod, fanOutPlan);
    expect(applyPeakRequests(once, fanOutPlan)).toEqual(once);
  });

  it('counts containers the plan does not know as always live, with a warning', () => {
    const out = planPeakRequests(pod([container('a-s', { cpu: '1' }), container('extra', { cpu: '2' })]), plan([task('a', [], ['s'])]));
    expect(requestsOf(out.pod)['pipod-supervisor']).toMatchObject({ cpu: '3050m' });
    expect(out.explanation.warnings).toEqual(['container "extra" is not in the plan: counted as live for the whole run']);
  });

  it('collects every bad quantity and every missing container in one ResourceError', () => {
    const bad = pod([container('a-s', { cpu: 'lots', memory: '-1Gi' }, { cpu: '1 core' })]);
    const p = plan([task('a', [], ['s'], ['db'])], [], ['registry']);
    let error: unknown;
    try {
      applyPeakRequests(bad, p, { limitRange: { min: { cpu: 'x' } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResourceError);
    expect((error as ResourceError).code).toBe('E_RESOURCES');
    expect((error as ResourceError).problems).toEqual([
      { path: 'limitRange.min.cpu', message: 'invalid quantity "x": expected a number such as 1, 0.5, 100m or 1Gi' },
      { path: 'spec.containers[1].resources.requests.cpu', message: 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi' },
      { path: 'spec.containers[1].resources.requests.memory', message: 'must not be negative, got "-1Gi"' },
      { path: 'spec.containers[1].resources.limits.cpu', message: 'invalid quantity "1 core": unknown suffix " core" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)' },
      { path: 'tasks[a].sidecars[0]', message: 'the Pod has no container "a-db" for sidecar "db"' },
      { path: 'sidecars[0]', message: 'the Pod has no container "pipeline-registry" for pipeline sidecar "registry"' },
    ]);
  });
});

describe('formatResourceExplanation', () => {
  it('renders the fan-out explanation as tables', () => {
    const text = formatResourceExplanation(explainResources(fanOutPod, fanOutPlan));
    expect(text).toBe(`Pod requests at peak concurrent demand (strategy: containers; QoS Burstable → Burstable)

RESOURCE  AS WRITTEN  PEAK    POD REQUEST  RATIO  REACHED BY
cpu       3150m       2350m   2350m        1.34x  build (1) ‖ test (1) ‖ lint (300m) + always 50m
memory    4320Mi      3104Mi  3104Mi       1.39x  build (2Gi) ‖ test (768Mi) ‖ lint (256Mi) + always 32Mi

cpu: requested by pipod-supervisor 2350m; every other container requests 0
memory: requested by pipod-supervisor 3104Mi; every other container requests 0

Task demand = largest step + all sidecars:
TASK    PHASE  CPU   MEMORY  AFTER
clone   tasks  200m  128Mi   -
build   tasks  1     2Gi     clone
test    tasks  1     768Mi   clone
lint    tasks  300m  256Mi   clone
report  tasks  100m  64Mi    build,test,lint

Live for the whole run (and init):
CONTAINER         ROLE        CPU   MEMORY
pipod-supervisor  supervisor  50m   32Mi
pipod-init        init        100m  64Mi
`);
  });
});

describe('applyPeakRequests input shape', () => {
  it('takes the builder\'s untyped Pod JSON and returns the same kind of value', () => {
    const raw: Readonly<Record<string, unknown>> = JSON.parse(JSON.stringify(fanOutPod));
    const out: Readonly<Record<string, unknown>> = applyPeakRequests(raw, fanOutPlan);
    expect(out).toEqual(applyPeakRequests(fanOutPod, fanOutPlan));
  });
  it('names what is missing from a malformed Pod', () => {
    expect(() => applyPeakRequests({ spec: { containers: [{ image: 'x' }, { name: 'a', resources: 'big' }], initContainers: 3 } }, fanOutPlan)).toThrow(
      new ResourceError([
        { path: 'spec.containers[0].name', message: 'a container needs a name' },
        { path: 'spec.containers[1].resources', message: 'must be an object with requests and limits' },
        { path: 'spec.initContainers', message: 'must be a list of containers' },
      ]),
    );
    expect(() => applyPeakRequests({ kind: 'Pod' }, fanOutPlan)).toThrow('spec: a Pod needs a spec object');
  });
});

describe('wrapperOverhead', () => {
  it('adds the waiting wrapper of every step and sidecar container to the always-live part', () => {
    const e = explainResources(fanOutPod, fanOutPlan, { wrapperOverhead: { memory: '8Mi' } });
    // 7 step and sidecar containers × 8Mi on top of the supervisor's 32Mi.
    expect(e.resources[1]).toMatchObject({ resource: 'memory', always: '88Mi', peak: '3160Mi' });
    expect(e.resources[0]).toMatchObject({ resource: 'cpu', always: '50m', peak: '2350m' });
    expect(e.always[1]).toEqual({ container: '7 wrappers × 8Mi memory', role: 'wrappers', requests: { memory: '56Mi' } });
  });
  it('reports a bad overhead quantity with its path', () => {
    expect(() => explainResources(fanOutPod, fanOutPlan, { wrapperOverhead: { memory: 'lots' } })).toThrow('wrapperOverhead.memory: invalid quantity "lots"');
  });
});

describe('resources only init containers request', () => {
  it('are reported but not written as zeros on every container', () => {
    const out = planPeakRequests(pod([container('a-s', { cpu: '1' })], container(SUPERVISOR_CONTAINER), container('pipod-init', { 'ephemeral-storage': '1Gi' })), plan([task('a', [], ['s'])]));
    expect(requestsOf(out.pod)).toEqual({ 'pipod-init': { 'ephemeral-storage': '1Gi' }, 'pipod-supervisor': { cpu: '1' }, 'a-s': { cpu: '0' } });
    expect(out.explanation.resources[1]).toMatchObject({ resource: 'ephemeral-storage', asWritten: '1Gi', podRequest: '1Gi', rewritten: false, notes: ['only init containers request it'] });
  });
});

describe('native sidecars', () => {
  it('are named in a warning, since pipod does not model them', () => {
    const p = pod([container('a-s', { cpu: '1' })]);
    const withNative = { ...p, spec: { ...p.spec, initContainers: [...(p.spec.initContainers ?? []), { ...container('proxy', { cpu: '1' }), restartPolicy: 'Always' }] } };
    expect(explainResources(withNative, plan([task('a', [], ['s'])])).warnings).toEqual(['init container "proxy" is a native sidecar (restartPolicy: Always); its requests are not counted in the peak']);
  });
});

describe('LimitRange minimum and init containers', () => {
  it('raises an init container below the minimum and says so', () => {
    const out = planPeakRequests(pod([container('a-s', { cpu: '1' })], container(SUPERVISOR_CONTAINER, { cpu: '100m' }), container('pipod-init', { cpu: '10m' })), plan([task('a', [], ['s'])]), { limitRange: { min: { cpu: '50m' } } });
    expect(requestsOf(out.pod)['pipod-init']).toEqual({ cpu: '50m' });
    expect(out.explanation.resources[0]?.notes).toEqual(['init container "pipod-init" raised to the LimitRange minimum 50m']);
    expect(requestsOf(out.pod)['pipod-supervisor']).toEqual({ cpu: '1050m' });
  });
});
