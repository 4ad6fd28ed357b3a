// Pod template env and volumes (per container, Tekton's merge by name),
// taskSpec.metadata and taskRunSpecs[].metadata on the one pod, and taskRef
// kind/apiVersion: what reaches the pod and the exact errors of what cannot.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

type Container = { name: string; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] };
type Pod = { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { containers: Container[]; volumes: { name: string }[] } & Record<string, unknown> };

const src = (text: string) => [{ name: 'r.yaml', text }];
const pod = (text: string): Pod => {
  const r = build(src(text));
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
  return r.pod as unknown as Pod;
};
const step = (extra = '') => `{name: s, image: busybox, script: 'true'${extra}}`;
const run = (template: string, tasks: string, specs = '') => `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r, labels: {team: x}}
spec:
  taskRunTemplate:
    podTemplate:
${template}
${specs}  pipelineSpec:
    tasks:
${tasks}`;

describe('podTemplate env and volumes', () => {
  const text = run(
    '      env: [{name: A, value: run}, {name: B, value: run}]\n      volumes: [{name: shared, emptyDir: {}}, {name: cfg, configMap: {name: c}}]\n      hostUsers: false',
    `      - name: a
        taskSpec:
          stepTemplate: {env: [{name: B, value: template}]}
          sidecars: [{name: side, image: busybox, script: 'sleep 1', volumeMounts: [{name: shared, mountPath: /s}]}]
          steps: [${step(", env: [{name: A, value: step}, {name: C, value: step}], volumeMounts: [{name: shared, mountPath: /s}]")}]
      - name: b
        taskSpec:
          steps: [${step(', volumeMounts: [{name: cfg, mountPath: /cfg}]')}]
`,
    '  taskRunSpecs:\n    - pipelineTaskName: b\n      podTemplate:\n        env: [{name: A, value: task-b}]\n        volumes: [{name: cfg, secret: {secretName: s}}]\n',
  );

  it('give every step the template env, over its own and its stepTemplate\'s, a task\'s taskRunSpecs entry winning by name', () => {
    const p = pod(text);
    const env = Object.fromEntries(p.spec.containers.map((c) => [c.name, c.env?.map((e) => `${e.name}=${e.value}`)]));
    expect(env['a-s']).toEqual(['C=step', 'A=run', 'B=run']);
    expect(env['b-s']).toEqual(['B=run', 'A=task-b']);
    // Tekton adds pod template env to steps only
    expect(env['a-side']).toBeUndefined();
    expect(p.spec['hostUsers']).toBe(false);
  });

  it('become pod volumes the containers mount by name (a task\'s own template volume is its own pod volume)', () => {
    const p = pod(text);
    const mounts = Object.fromEntries(p.spec.containers.map((c) => [c.name, c.volumeMounts?.filter((m) => m.name !== 'pipod').map((m) => `${m.name}:${m.mountPath}`)]));
    expect(mounts['a-s']).toEqual(['podtemplate-shared:/s']);
    expect(mounts['a-side']).toEqual(['podtemplate-shared:/s']);
    expect(mounts['b-s']).toEqual(['podtemplate-b-cfg:/cfg']);
    expect(p.spec.volumes).toEqual([
      { name: 'pipod', emptyDir: {} },
      { name: 'podtemplate-shared', emptyDir: {} }, { name: 'podtemplate-cfg', configMap: { name: 'c' } },
      { name: 'podtemplate-b-cfg', secret: { secretName: 's' } },
    ]);
  });

  it('a task volume of a template volume\'s name is refused, as Tekton refuses it', () => {
    const errors = validate(src(run('      volumes: [{name: v, emptyDir: {}}]', `      - name: a\n        taskSpec:\n          volumes: [{name: v, emptyDir: {}}]\n          steps: [${step()}]\n`)));
    expect(errors).toEqual([{ source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[0].taskSpec.volumes[0].name', message: 'volume "v" is also in the pod template (spec.taskRunTemplate.podTemplate.volumes[0]): a pod cannot have two volumes of one name (Tekton refuses it too)' }]);
  });

  it('template env and volumes are checked like a step\'s', () => {
    expect(validate(src(run('      env: [{name: A, valeu: x}]\n      volumes: [{name: v}]', `      - name: a\n        taskSpec: {steps: [${step()}]}\n`)))).toEqual([
      { source: 'PipelineRun/r', path: 'spec.taskRunTemplate.podTemplate.env[0].valeu', message: 'unknown field' },
      { source: 'PipelineRun/r', path: 'spec.taskRunTemplate.podTemplate.volumes[0]', message: 'a volume needs exactly one source (emptyDir, configMap, secret, persistentVolumeClaim, …)' },
    ]);
  });
});

describe('taskSpec.metadata and taskRunSpecs[].metadata', () => {
  it('put their labels and annotations on the pod, next to the run\'s', () => {
    const p = pod(run('      hostUsers: true', `      - name: a
        taskSpec:
          metadata: {labels: {app: web, team: x}, annotations: {note: a}}
          steps: [${step()}]
      - name: b
        taskSpec: {metadata: {labels: {app: web}}, steps: [${step()}]}
`, '  taskRunSpecs:\n    - pipelineTaskName: b\n      metadata: {annotations: {owner: b}}\n'));
    expect(p.metadata.labels).toMatchObject({ app: 'web', team: 'x', 'tekton.dev/pipelineRun': 'r' });
    expect(p.metadata.annotations).toMatchObject({ note: 'a', owner: 'b' });
  });

  it('are recorded per task in the plan, for the TaskRun the controller mirrors each task with', () => {
    const tasks = `      - name: a\n        taskSpec: {metadata: {labels: {app: web}}, steps: [${step()}]}\n      - name: b\n        taskSpec: {steps: [${step()}]}\n`;
    const r = build(src(run('      hostUsers: true', tasks, '  taskRunSpecs:\n    - pipelineTaskName: a\n      metadata: {annotations: {owner: a}}\n')));
    expect(r.kind === 'ok' ? r.plan.tasks.map((t) => [t.name, t.metadata]) : r.errors).toEqual([['a', { labels: { app: 'web' }, annotations: { owner: 'a' } }], ['b', undefined]]);
  });

  it('`metadata: {}` with `spec: null`, as kubectl exports an embedded task, is a plain Task', () => {
    expect(validate(src(run('      hostUsers: true', `      - name: a\n        taskSpec: {metadata: {}, spec: null, steps: [${step()}]}\n`)))).toEqual([]);
  });

  it('two values for one key cannot both be on the pod', () => {
    expect(validate(src(run('      hostUsers: true', `      - name: a
        taskSpec: {metadata: {labels: {app: web}}, steps: [${step()}]}
      - name: b
        taskSpec: {metadata: {labels: {app: db, team: y}}, steps: [${step()}]}
`)))).toEqual([
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[1].taskSpec.metadata.labels[app]', message: 'task "b" sets "db" but task "a" sets "web": one pod has one value per label' },
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[1].taskSpec.metadata.labels[team]', message: 'task "b" sets "y" but the run sets "x": one pod has one value per label' },
    ]);
  });

  it('hold labels and annotations of strings only', () => {
    expect(validate(src(run('      hostUsers: true', `      - name: a\n        taskSpec: {metadata: {annotations: {x: 1}, name: n}, steps: [${step()}]}\n`)))).toEqual([
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[0].taskSpec.metadata.name', message: 'unknown field' },
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[0].taskSpec.metadata.annotations.x', message: 'must be a string' },
    ]);
  });

  it('a taskSpec that is a custom task spec stays refused', () => {
    expect(validate(src(run('      hostUsers: true', '      - name: a\n        taskSpec: {apiVersion: example.dev/v1, kind: Wait, spec: {duration: 1s}}\n')))).toEqual([
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[0].taskSpec', message: 'custom task specs cannot run inside one pod (only Tasks can)' },
    ]);
  });
});

describe('taskRef kind and apiVersion', () => {
  const task = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: hello}\nspec:\n  steps: [{name: s, image: busybox, script: "true"}]\n---\n';
  it.each([['kind: Task'], ['kind: Task, apiVersion: tekton.dev/v1'], ['apiVersion: tekton.dev/v1']])('{%s} names a Task of the input', (ref) => {
    const r = build(src(`${task}${run('      hostUsers: true', `      - name: a\n        taskRef: {name: hello, ${ref}}\n`)}`));
    expect(r.kind === 'ok' ? r.plan.tasks.map((t) => [t.name, t.taskRef, t.steps.length]) : r.errors).toEqual([['a', 'hello', 1]]);
  });

  it.each([
    ['kind: Wait, apiVersion: example.dev/v1', 'custom task example.dev/v1/Wait cannot run inside one pod (only Tasks can)'],
    ['kind: Task, apiVersion: tekton.dev/v1beta1', 'custom task tekton.dev/v1beta1/Task cannot run inside one pod (only Tasks can)'],
  ])('{%s} is a custom task', (ref, message) => {
    expect(validate(src(`${task}${run('      hostUsers: true', `      - name: a\n        taskRef: {name: hello, ${ref}}\n`)}`))).toEqual([
      { source: 'PipelineRun/r', path: 'spec.pipelineSpec.tasks[0].taskRef', message },
    ]);
  });
});
