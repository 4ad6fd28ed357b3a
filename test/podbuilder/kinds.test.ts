// Kubernetes objects next to the runs (ConfigMap, Secret, ServiceAccount)
// and files holding several runs: what the builder returns and the exact
// errors of what it refuses.
import { describe, expect, it } from 'vitest';
import { build, buildEach, runsOf, validate, objectFiles } from '@pipod/podbuilder';

const taskRun = (name: string, extra = ''): string => `apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ${name}}
spec:
${extra}  taskSpec:
    steps: [{name: s, image: busybox, script: 'true'}]
`;
const src = (...docs: string[]) => [{ name: 'f.yaml', text: docs.join('---\n') }];

describe('ConfigMaps, Secrets and ServiceAccounts in the input', () => {
  const objects = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, labels: {team: a}}
data: {greeting: hello}
binaryData: {blob: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
type: Opaque
data: {a: YQ==, b: Yg==}
stringData: {b: bee}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot}
imagePullSecrets: [{name: pull}]
`;

  it('come back beside the Pod, in the run\'s namespace, a Secret\'s stringData folded into data as the API server does', () => {
    const r = build(src(objects, taskRun('tr', '  serviceAccountName: robot\n')), { namespace: 'ci' });
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.objects).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'ci', labels: { team: 'a' } }, data: { greeting: 'hello' }, binaryData: { blob: 'AAEC' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'ci' }, type: 'Opaque', data: { a: 'YQ==', b: 'YmVl' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: 'ci' }, imagePullSecrets: [{ name: 'pull' }] },
    ]);
    expect((r.pod['spec'] as { serviceAccountName?: string }).serviceAccountName).toBe('robot');
    expect([...objectFiles(r.objects[1] as never)].map(([k, v]) => [k, v.toString()])).toEqual([['a', 'a'], ['b', 'bee']]);
    expect([...objectFiles(r.objects[0] as never)].map(([k, v]) => [k, [...v]])).toEqual([['greeting', [...Buffer.from('hello')]], ['blob', [0, 1, 2]]]);
  });

  it('are checked field by field', () => {
    const bad = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: other}
data: {"bad key": x, n: 1, same: x}
binaryData: {same: AAEC}
spec: {}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {a: not-base64!}
---
apiVersion: v2
kind: ServiceAccount
metadata: {name: robot}
`;
    expect(validate(src(bad, taskRun('tr')))).toEqual([
      { source: 'ServiceAccount/robot', path: 'apiVersion', message: 'unsupported apiVersion "v2" (only v1 is read)' },
      { source: 'ConfigMap/cfg', path: 'spec', message: 'unknown field' },
      { source: 'ConfigMap/cfg', path: 'metadata.namespace', message: '"other" is not the run\'s namespace "default": a pod can only use objects of its own namespace' },
      { source: 'ConfigMap/cfg', path: 'data[bad key]', message: 'invalid key "bad key": use letters, digits, \'-\', \'_\' and \'.\'' },
      { source: 'ConfigMap/cfg', path: 'data[n]', message: 'must be a string' },
      { source: 'ConfigMap/cfg', path: 'binaryData[same]', message: 'key "same" is also in data' },
      { source: 'Secret/sec', path: 'data[a]', message: 'must be base64 (use stringData for plain text)' },
    ]);
  });

  it('other Kubernetes kinds stay refused', () => {
    expect(validate(src('apiVersion: v1\nkind: Service\nmetadata: {name: x}\n', taskRun('tr')))).toEqual([
      { source: 'Service/x', path: 'kind', message: 'unsupported kind "Service" (expected one of Pipeline, Task, PipelineRun, TaskRun, StepAction, ConfigMap, Secret, ServiceAccount)' },
    ]);
  });
});

describe('several runs in one input', () => {
  const two = src(taskRun('one'), taskRun('two'), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {generateName: gen-}\nspec:\n  pipelineSpec:\n    tasks: [{name: t, taskSpec: {steps: [{name: s, image: busybox, script: "true"}]}}]\n', 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {generateName: gen-}\nspec:\n  pipelineSpec:\n    tasks: [{name: t, taskSpec: {steps: [{name: s, image: busybox, script: "true"}]}}]\n');

  it('are listed in order and built one each, generateName runs with names of their own', () => {
    expect(runsOf(two)).toEqual(['TaskRun/one', 'TaskRun/two', 'PipelineRun/gen-', 'PipelineRun/gen-']);
    const names = buildEach(two).map((r) => (r.kind === 'ok' ? r.plan.run.pipelineRunName : JSON.stringify(r.errors)));
    expect(names.slice(0, 2)).toEqual(['one', 'two']);
    expect(names[2]).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(names[3]).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(names[2]).not.toBe(names[3]);
  });

  it('without runIndex are an error naming how to build them', () => {
    const r = build(src(taskRun('one'), taskRun('two')));
    expect(r.kind === 'invalid' ? r.errors : []).toEqual([
      { source: 'TaskRun/two', path: '', message: 'the input holds 2 runs: build one at a time (runIndex; pipod run runs each in turn) (already building TaskRun/one)' },
    ]);
    expect(build(src(taskRun('one')), { runIndex: 1 })).toMatchObject({ kind: 'invalid', errors: [{ source: 'options', path: 'runIndex', message: 'there is no run 2: the input holds 1' }] });
  });

  it('validate reports the errors of every run, a shared one once', () => {
    const task = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: "true", bogus: 1}]\n';
    const ref = (n: string, extra = '') => `apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: ${n}}\nspec:\n  taskRef: {name: t}\n${extra}`;
    expect(validate(src(task, ref('a'), ref('b', '  timeout: soon\n')))).toEqual([
      { source: 'Task/t', path: 'spec.steps[0].bogus', message: 'unknown field' },
      { source: 'TaskRun/b', path: 'spec.timeout', message: expect.stringContaining('soon') as unknown as string },
    ]);
  });
});
