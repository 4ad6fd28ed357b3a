// Properties of the generated Pod beyond the golden files: determinism, the
// plan carried in env chunks, names, deadlines, and build options.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PLAN_ENV_CHUNK, isDnsLabel } from '@pipod/plan';
import { type RefResolver, build, encodePlan, imagesToResolve, mapImageConfigResolver, parseDuration, parseWorkspaceArg, toJson, toYaml } from '@pipod/podbuilder';
import { loadCase } from './fixtures.ts';

type Obj = Record<string, unknown>;
const spec = (pod: Obj): Obj => pod['spec'] as Obj;
const containers = (pod: Obj): Obj[] => spec(pod)['containers'] as Obj[];

function big(n: number): string {
  const tasks = Array.from({ length: n }, (_, i) => `    - name: t${i}\n${i > 0 ? `      runAfter: [t${i - 1}]\n` : ''}      taskSpec:\n        steps:\n          - name: s\n            image: busybox\n            script: echo ${createHash('sha256').update(String(i)).digest('hex').repeat(4)}\n`).join('');
  return `apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: big}\nspec:\n  tasks:\n${tasks}`;
}

describe('pod', () => {
  it('is byte-identical for the same input, built twice', () => {
    const { sources, options } = loadCase('sidecars-volumes');
    const a = build(sources, options);
    const b = build(sources.map((s) => ({ ...s })), { ...options });
    expect(a.kind).toBe('ok');
    expect(b.kind).toBe('ok');
    if (a.kind === 'ok' && b.kind === 'ok') {
      expect(toYaml(a.pod)).toBe(toYaml(b.pod));
      expect(toJson(a.plan)).toBe(toJson(b.plan));
    }
  });

  it('does not depend on the order of files or documents', () => {
    const { sources, options } = loadCase('results-wiring');
    const docs = (sources[0]?.text ?? '').split(/^---$/m);
    expect(docs.length).toBe(3);
    const a = build(sources, options);
    const b = build([{ name: 'x.yaml', text: [...docs].reverse().join('\n---\n') }], options);
    const c = build(docs.map((text, i) => ({ name: `f${i}.yaml`, text })).reverse(), options);
    expect(a.kind).toBe('ok');
    if (a.kind === 'ok' && b.kind === 'ok' && c.kind === 'ok') {
      expect(toYaml(b.pod)).toBe(toYaml(a.pod));
      expect(toYaml(c.pod)).toBe(toYaml(a.pod));
    } else throw new Error('invalid');
  });

  it('writes keys in sorted order', () => {
    expect(toYaml({ b: 1, a: { d: 1, c: 2 } })).toBe('a:\n  c: 2\n  d: 1\nb: 1\n');
  });

  it('carries the plan in PIPOD_PLAN_* chunks that decode to the plan', () => {
    const r = build([{ name: 'big.yaml', text: big(1500) }]);
    if (r.kind !== 'ok') throw new Error('invalid');
    const init = (spec(r.pod)['initContainers'] as Obj[])[0] as Obj;
    const env = init['env'] as { name: string; value: string }[];
    expect(env.length).toBeGreaterThan(1);
    expect(env.map((e) => e.name)).toEqual(env.map((_, i) => `PIPOD_PLAN_${i}`));
    for (const e of env) expect(e.value.length).toBeLessThanOrEqual(PLAN_ENV_CHUNK);
    const decoded = gunzipSync(Buffer.from(env.map((e) => e.value).join(''), 'base64')).toString('utf8');
    expect(JSON.parse(decoded)).toEqual(r.plan);
    expect(encodePlan(r.plan)).toEqual(env.map((e) => e.value));
  });

  it('refuses a pod whose task map annotation exceeds Kubernetes\' 256 KiB', () => {
    const step = (t: number, i: number): string => `          - name: step-${i}-${'s'.repeat(50)}\n            image: busybox\n            command: ["true"]\n`;
    const tasks = Array.from({ length: 130 }, (_, t) => `    - name: task-${t}-${'t'.repeat(50)}\n      taskSpec:\n        steps:\n${Array.from({ length: 10 }, (_, i) => step(t, i)).join('')}`).join('');
    const r = build([{ name: 'p.yaml', text: `apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: wide}\nspec:\n  tasks:\n${tasks}` }]);
    expect(r.kind === 'invalid' ? r.errors.map((e) => [e.source, e.path, e.message.replace(/\d+ bytes/, 'N bytes')]) : 'ok').toEqual([
      ['Pod/wide-run-pod', 'metadata.annotations', 'annotations take N bytes; Kubernetes allows 262144 (too many containers for one pod\'s task map)'],
    ]);
  });

  it('refuses a plan too large to pass in the environment', () => {
    const noise = Array.from({ length: 30_000 }, (_, i) => createHash('sha256').update(String(i)).digest('base64')).join('');
    const r = build([{ name: 't.yaml', text: `apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: big}\nspec:\n  steps:\n    - name: s\n      image: busybox\n      script: echo ${noise}\n` }]);
    expect(r.kind === 'invalid' ? r.errors.map((e) => [e.path, e.message.replace(/\d+ bytes/, 'N bytes')]) : 'ok').toEqual([
      ['spec.initContainers[0].env', 'the encoded plan takes N bytes; more than 1048576 cannot be passed to one process'],
    ]);
  });

  it('gives every container a unique DNS-1123 name', () => {
    const { sources, options } = loadCase('long-names');
    const r = build(sources, options);
    if (r.kind !== 'ok') throw new Error('invalid');
    const names = [...(spec(r.pod)['initContainers'] as Obj[]), ...containers(r.pod)].map((c) => c['name'] as string);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(isDnsLabel(n)).toBe(true);
    expect(names.filter((n) => n === 'pipod-init')).toHaveLength(1);
  });

  it('sets the deadline from the pipeline timeout plus a margin, and none for timeout 0', () => {
    const run = (t: string): string => `apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  timeouts: {pipeline: "${t}"}\n  pipelineSpec:\n    tasks:\n      - name: a\n        taskSpec:\n          steps: [{name: s, image: busybox, script: echo}]\n`;
    const deadline = (t: string): unknown => {
      const r = build([{ name: 'r.yaml', text: run(t) }]);
      return r.kind === 'ok' ? [spec(r.pod)['activeDeadlineSeconds'], r.plan.timeouts.pipelineMs] : r.errors;
    };
    expect(deadline('1h30m')).toEqual([5460, 5_400_000]);
    expect(deadline('0')).toEqual([undefined, undefined]);
  });

  it('uses the run and pod name options, namespace and runtime image', () => {
    const r = build([{ name: 'a.yaml', text: big(1) }], { runName: 'nightly-7', podName: 'p1', namespace: 'ns', runtimeImage: 'reg/rt:9' });
    if (r.kind !== 'ok') throw new Error('invalid');
    const meta = r.pod['metadata'] as Obj;
    expect([meta['name'], meta['namespace'], (meta['labels'] as Obj)['tekton.dev/pipelineRun']]).toEqual(['p1', 'ns', 'nightly-7']);
    expect(containers(r.pod)[0]?.['image']).toBe('reg/rt:9');
    expect(r.plan.run.pipelineRunName).toBe('nightly-7');
  });
});

describe('options and resolvers', () => {
  const pipelineUsing = (ref: string): string => `apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  params: [{name: list, type: array, default: [a]}, {name: obj, properties: {k: {}}, default: {k: v}}]\n  tasks:\n    - name: a\n      taskRef: {name: ${ref}}\n      params: [{name: list, value: ["$(params.list[*])"]}, {name: obj, value: "$(params.obj[*])"}]\n`;

  it('resolves taskRef through an injected RefResolver', () => {
    const remote = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: remote}\nspec:\n  params: [{name: list, type: array}, {name: obj, properties: {k: {}}}]\n  steps: [{name: s, image: busybox, command: [echo], args: ["$(params.list[*])", "$(params.obj.k)"]}]\n';
    const body = parseYaml(remote);
    const resolver: RefResolver = { task: (n) => (n === 'remote' ? { source: 'Task/remote', body } : undefined), pipeline: () => undefined };
    const r = build([{ name: 'p.yaml', text: pipelineUsing('remote') }], { resolver, params: { list: 'x,y', obj: 'k=w' } });
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks[0]?.steps[0]?.args).toEqual(['x', 'y', 'w']);
    expect(r.plan.params).toEqual({ list: ['x', 'y'], obj: { k: 'w' } });
  });

  it('takes JSON for array and object param overrides, and refuses what does not fit', () => {
    const task = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: list, type: array}, {name: obj, properties: {k: {}}}]\n  steps: [{name: s, image: busybox, script: echo}]\n';
    const src = [{ name: 't.yaml', text: task }, { name: 'p.yaml', text: pipelineUsing('t') }];
    const ok = build(src, { params: { list: '["a,b","c"]', obj: '{"k":"1"}' } });
    expect(ok.kind === 'ok' ? ok.plan.params : ok.errors).toEqual({ list: ['a,b', 'c'], obj: { k: '1' } });
    const bad = build(src, { params: { obj: 'nokey' } });
    expect(bad.kind === 'invalid' ? bad.errors : []).toEqual([
      { source: 'options', path: 'params.obj', message: 'param "obj" is declared object; give a JSON object or k=v,k2=v2' },
    ]);
  });

  it('lists the images whose entrypoint the build needs, after the image map', () => {
    const text = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  sidecars: [{name: db, image: docker.io/pg:16}]\n  steps: [{name: a, image: docker.io/tool:1}, {name: b, image: docker.io/tool:1, args: [x]}, {name: c, image: busybox, script: echo}]\n';
    const src = [{ name: 't.yaml', text }];
    const images = imagesToResolve(src, { imageMap: { 'docker.io/': 'mirror/' } });
    expect(images).toEqual(['mirror/pg:16', 'mirror/tool:1']);
    const configs = Object.fromEntries(images.map((i) => [i, { entrypoint: ['/e'], cmd: ['c'] }]));
    const r = build(src, { imageMap: { 'docker.io/': 'mirror/' }, imageConfigResolver: mapImageConfigResolver(configs) });
    expect(r.kind === 'ok' ? r.plan.tasks[0]?.steps.map((x) => [x.command, x.args]) : r.errors).toEqual([[['/e'], ['c']], [['/e'], ['x']], [[], []]]);
  });

  it('escapes $ in an image\'s Entrypoint and Cmd (the kubelet never expands them) but not in the step\'s own args', () => {
    const text = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: a, image: tool}, {name: b, image: tool, args: ["$(HOME)"]}]\n';
    const r = build([{ name: 't.yaml', text }], { imageConfigResolver: mapImageConfigResolver({ tool: { entrypoint: ['/e', '$(X)'], cmd: ['$$HOME'] } }) });
    expect(r.kind === 'ok' ? r.plan.tasks[0]?.steps.map((x) => [x.command, x.args]) : r.errors).toEqual([
      [['/e', '$$(X)'], ['$$$$HOME']],
      [['/e', '$$(X)'], ['$(HOME)']],
    ]);
  });
});

describe('helpers', () => {
  it.each([
    ['1h30m', 5_400_000], ['90s', 90_000], ['500ms', 500], ['1.5h', 5_400_000], ['0', 0], ['2h0m0s', 7_200_000],
    ['', undefined], ['10', undefined], ['-1s', undefined], ['1d', undefined], ['1h 30m', undefined],
  ])('parseDuration(%j) = %j', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each([
    ['src=emptyDir', { name: 'src', override: { kind: 'emptyDir' } }],
    ['src=hostPath=/tmp/x', { name: 'src', override: { kind: 'hostPath', path: '/tmp/x' } }],
    ['src=pvc=claim', { name: 'src', override: { kind: 'persistentVolumeClaim', claimName: 'claim' } }],
    ['src=secret=s', { name: 'src', override: { kind: 'secret', name: 's' } }],
    ['src', { error: 'invalid workspace "src": use name=emptyDir, name=hostPath=DIR, name=pvc=CLAIM, name=configMap=NAME or name=secret=NAME' }],
    ['src=nfs=x', { error: 'invalid workspace "src=nfs=x": unknown kind "nfs" (emptyDir, hostPath, pvc, configMap, secret)' }],
  ])('parseWorkspaceArg(%j)', (arg, want) => {
    expect(parseWorkspaceArg(arg)).toEqual(want);
  });
});
