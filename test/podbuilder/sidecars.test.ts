// Sidecars beyond a Task's own (pipeline-level, added by the run) and the port rule of one pod.
import { describe, expect, it } from 'vitest';
import { type FieldError, build, validate } from '@pipod/podbuilder';

const DB = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: db}
spec:
  sidecars: [{name: pg, image: postgres, command: [postgres], ports: [{containerPort: 5432}]}]
  steps: [{name: s, image: busybox, script: echo}]
`;
const PLAIN = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: plain}
spec:
  steps: [{name: s, image: busybox, script: echo}]
`;
const pipeline = (tasks: string, extra = '', meta = ''): string => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl${meta}}
spec:
${extra}  tasks:
${tasks}`;
const task = (name: string, ref: string, after = ''): string => `    - name: ${name}\n      taskRef: {name: ${ref}}\n${after !== '' ? `      runAfter: [${after}]\n` : ''}`;
const e = (source: string, path: string, message: string): FieldError => ({ source, path, message });
const run = (taskRunSpecs: string): string => `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineRef: {name: pl}
  taskRunSpecs:
${taskRunSpecs}`;
const PORT_MSG = 'which can run at the same time; the containers of one pod share one network namespace';

describe('sidecar port collisions', () => {
  const rows: { rule: string; docs: string[]; errors: FieldError[] }[] = [
    {
      rule: 'two parallel tasks with the same sidecar port',
      docs: [DB, pipeline(task('a', 'db') + task('b', 'db'))],
      errors: [e('Task/db', 'spec.sidecars[0].ports[0]', `port 5432/TCP of sidecar "pg" of task "b" is also declared by sidecar "pg" of task "a", ${PORT_MSG}`)],
    },
    {
      rule: 'tasks ordered through a chain of dependsOn may reuse a port',
      docs: [DB, PLAIN, pipeline(task('a', 'db') + task('m', 'plain', 'a') + task('b', 'db', 'm'))],
      errors: [],
    },
    {
      rule: 'a DAG task and a finally task never overlap',
      docs: [DB, pipeline(task('a', 'db'), '', '') .replace('  tasks:\n', '  finally:\n    - name: f\n      taskRef: {name: db}\n  tasks:\n')],
      errors: [],
    },
    {
      rule: 'two sidecars of one task on one port',
      docs: [`apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: two}\nspec:\n  sidecars:\n    - {name: x, image: i, command: [x], ports: [{containerPort: 80}]}\n    - {name: y, image: i, command: [y], ports: [{containerPort: 80}]}\n  steps: [{name: s, image: busybox, script: echo}]\n`, pipeline(task('a', 'two'))],
      errors: [e('Task/two', 'spec.sidecars[1].ports[0]', `port 80/TCP of sidecar "y" of task "a" is also declared by sidecar "x" of task "a", ${PORT_MSG}`)],
    },
    {
      rule: 'a pipeline sidecar against any task sidecar',
      docs: [DB, pipeline(task('a', 'db'), '  sidecars: [{name: shared, image: postgres, command: [postgres], ports: [{containerPort: 5432}]}]\n')],
      errors: [e('Pipeline/pl', 'spec.sidecars[0].ports[0]', `port 5432/TCP of pipeline sidecar "shared" is also declared by sidecar "pg" of task "a", ${PORT_MSG}`)],
    },
    {
      rule: 'a run-added sidecar against a parallel task',
      docs: [DB, PLAIN, pipeline(task('a', 'db') + task('b', 'plain')), run('    - pipelineTaskName: b\n      sidecars: [{name: other, image: i, command: [x], ports: [{containerPort: 5432}]}]\n')],
      errors: [e('PipelineRun/r', 'spec.taskRunSpecs[0].sidecars[0].ports[0]', `port 5432/TCP of sidecar "other" of task "b" is also declared by sidecar "pg" of task "a", ${PORT_MSG}`)],
    },
    {
      rule: 'pipeline sidecars in spec and in the annotation at once',
      docs: [PLAIN, pipeline(task('a', 'plain'), '  sidecars: [{name: s, image: i, command: [x]}]\n', `, annotations: {pipod.dev/sidecars: '[{"name": "t", "image": "i", "command": ["y"]}]'}`)],
      errors: [e('Pipeline/pl', 'metadata.annotations[pipod.dev/sidecars]', 'give pipeline sidecars either in spec.sidecars or in this annotation, not both')],
    },
    {
      rule: 'duplicate pipeline sidecar names',
      docs: [PLAIN, pipeline(task('a', 'plain'), '  sidecars: [{name: s, image: i, command: [x]}, {name: s, image: i, command: [y]}]\n')],
      errors: [e('Pipeline/pl', 'spec.sidecars[1].name', 'duplicate sidecar name "s"')],
    },
    {
      rule: 'an annotation that is not a list',
      docs: [PLAIN, pipeline(task('a', 'plain'), '', ', annotations: {pipod.dev/sidecars: "name: x"}')],
      errors: [e('Pipeline/pl', 'metadata.annotations[pipod.dev/sidecars]', 'must be a list of sidecars')],
    },
  ];
  for (const row of rows) {
    it(row.rule, () => {
      expect(validate(row.docs.map((text, i) => ({ name: `doc${i}.yaml`, text })))).toEqual(row.errors);
    });
  }
});

describe('pipeline-level and run-added sidecars', () => {
  it('puts pipeline sidecars in plan.sidecars with collision-free container names', () => {
    const r = build([{ name: 'a.yaml', text: PLAIN.replace('{name: s,', '{name: kv,') }, { name: 'b.yaml', text: pipeline(task('sidecar', 'plain'), '  params: [{name: v, default: "7"}]\n  sidecars: [{name: kv, image: busybox, script: "echo $(params.v)", readinessProbe: {tcpSocket: {port: 8080}}}]\n') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks[0]?.steps[0]?.container).toBe('sidecar-kv');
    expect(r.plan.sidecars.map((s) => [s.name, s.script])).toEqual([['kv', '#!/bin/sh\nset -e\necho 7']]);
    expect(r.plan.sidecars[0]?.container).toMatch(/^sidecar-kv-[0-9a-f]+$/);
    expect(r.plan.sidecars[0]?.readinessProbe?.handler).toMatchObject({ kind: 'tcpSocket', port: 8080 });
  });

  it('takes pipeline sidecars from the pipod.dev/sidecars annotation', () => {
    const r = build([{ name: 'a.yaml', text: PLAIN }, { name: 'b.yaml', text: pipeline(task('a', 'plain'), '', `, annotations: {pipod.dev/sidecars: '[{"name": "kv", "image": "busybox", "command": ["httpd", "-f"]}]'}`) }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.sidecars.map((s) => [s.name, s.container, s.command])).toEqual([['kv', 'sidecar-kv', ['httpd', '-f']]]);
  });

  it('adds a run sidecar to a task and replaces one of the same name; grace from the pod template', () => {
    const r = build([{ name: 'a.yaml', text: DB }, { name: 'b.yaml', text: pipeline(task('a', 'db')) }, {
      name: 'c.yaml',
      text: `${run('    - pipelineTaskName: a\n      sidecars:\n        - {name: pg, image: other, command: [x]}\n        - {name: extra, image: busybox, command: [y]}\n')}  taskRunTemplate: {podTemplate: {terminationGracePeriodSeconds: 3}}\n`,
    }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks[0]?.sidecars.map((s) => [s.name, s.image, s.terminationGraceMs])).toEqual([['pg', 'other', 3000], ['extra', 'busybox', 3000]]);
  });
});

describe('TEP-0126 sidecars through the pipod.dev/task-sidecars annotation', () => {
  const annotated = (value: string): string => `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: r
  annotations:
    pipod.dev/task-sidecars: '${value}'
spec:
  pipelineRef: {name: pl}
`;
  it('adds sidecars to the named task, as taskRunSpecs[].sidecars would', () => {
    const r = build([{ name: 'a.yaml', text: PLAIN }, { name: 'b.yaml', text: pipeline(task('a', 'plain')) }, { name: 'c.yaml', text: annotated('{"a": [{"name": "db", "image": "postgres", "command": ["postgres"]}]}') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks[0]?.sidecars.map((s) => [s.name, s.container, s.command])).toEqual([['db', 'a-db', ['postgres']]]);
  });

  it('names an unknown task and a task given sidecars both ways', () => {
    const docs = [PLAIN, pipeline(task('a', 'plain')), `${annotated('{"nope": [], "a": [{"name": "x", "image": "i", "command": ["x"]}]}')}  taskRunSpecs:\n    - pipelineTaskName: a\n      sidecars: [{name: y, image: i, command: [y]}]\n`];
    expect(validate(docs.map((text, i) => ({ name: `doc${i}.yaml`, text })))).toEqual([
      e('PipelineRun/r', 'metadata.annotations[pipod.dev/task-sidecars][a]', 'task "a" already gets sidecars from spec.taskRunSpecs; give them one way'),
      e('PipelineRun/r', 'metadata.annotations[pipod.dev/task-sidecars][nope]', 'unknown pipeline task "nope"'),
    ]);
  });
});

describe('taskRunSpecs[].sidecarSpecs', () => {
  it('replaces the computeResources of a named sidecar and names an unknown one', () => {
    const docs = [DB, pipeline(task('a', 'db')), run('    - pipelineTaskName: a\n      sidecarSpecs:\n        - {name: pg, computeResources: {limits: {memory: 64Mi}}}\n')];
    const r = build(docs.map((text, i) => ({ name: `doc${i}.yaml`, text })));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const containers = (r.pod['spec'] as { containers: { name: string; resources?: unknown }[] }).containers;
    expect(containers.find((c) => c.name === 'a-pg')?.resources).toMatchObject({ limits: { memory: '64Mi' } });
    const bad = [DB, pipeline(task('a', 'db')), run('    - pipelineTaskName: a\n      sidecarSpecs: [{name: nope}]\n')];
    expect(validate(bad.map((text, i) => ({ name: `doc${i}.yaml`, text })))).toEqual([e('PipelineRun/r', 'spec.taskRunSpecs[0].sidecarSpecs[0].name', 'task "a" has no sidecar "nope"')]);
  });

  it('looks up the entrypoint of a pipeline sidecar without command through the image resolver', () => {
    const r = build([{ name: 'a.yaml', text: PLAIN }, { name: 'b.yaml', text: pipeline(task('a', 'plain'), '  sidecars: [{name: kv, image: redis, args: [--port, "7000"]}]\n') }], {
      imageConfigResolver: { resolve: (image) => (image === 'redis' ? { entrypoint: ['docker-entrypoint.sh'], cmd: ['redis-server'] } : undefined) },
    });
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.sidecars[0]).toMatchObject({ command: ['docker-entrypoint.sh'], args: ['--port', '7000'] });
  });
});

// A pipeline sidecar is compiled by the same compileContainer as a step and a task sidecar (issue 16's drifts).
describe('a pipeline sidecar is compiled like any container', () => {
  const docs = (sidecar: string, extra = ''): { name: string; text: string }[] => [
    { name: 'a.yaml', text: PLAIN },
    { name: 'b.yaml', text: pipeline(task('a', 'plain'), `  params: [{name: v, default: "7"}, {name: cm, default: conf}]\n${extra}  sidecars: [${sidecar}]\n`) },
  ];

  it('escapes $(VAR) in the image entrypoint it takes over, so the kubelet does not expand it', () => {
    const r = build(docs('{name: kv, image: tool}'), { imageConfigResolver: { resolve: () => ({ entrypoint: ['/e', '$(X)'], cmd: ['$(HOME)'] }) } });
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.sidecars[0]).toMatchObject({ command: ['/e', '$$(X)'], args: ['$$(HOME)'] });
  });

  it.each([
    ['the resolver throws', (): never => { throw new Error('registry said 401'); }, 'registry said 401'],
    ['the image is unknown', (): undefined => undefined, 'the image is unknown'],
  ])('reports an unresolvable entrypoint at the sidecar when %s', (_why, resolve, reason) => {
    const errors = validate(docs('{name: kv, image: tool, args: [x]}'), { imageConfigResolver: { resolve } });
    expect(errors).toEqual([e('Pipeline/pl', 'spec.sidecars[0]', `sidecar "kv" has neither command nor script and the entrypoint of image "tool" could not be resolved: ${reason}`)]);
  });

  it('refuses an image that depends on a run-time value', () => {
    const errors = validate(docs('{name: kv, image: "reg/$(tasks.a.results.tag)", command: [x]}'));
    expect(errors).toEqual([e('Pipeline/pl', 'spec.sidecars[0].image', 'image depends on the run-time value $(tasks.a.results.tag) (pipeline sidecar "kv"); one pod needs every image before it starts')]);
  });

  it('substitutes params in valueFrom and envFrom', () => {
    const r = build(docs('{name: kv, image: busybox, command: [x], env: [{name: K, valueFrom: {configMapKeyRef: {name: "$(params.cm)", key: k}}}], envFrom: [{configMapRef: {name: "$(params.cm)-$(params.v)"}}]}'));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const spec = r.pod['spec'] as { containers: { name: string; env?: unknown[]; envFrom?: unknown }[] };
    const c = spec.containers.find((x) => x.name === r.plan.sidecars[0]?.container);
    expect(c?.env).toContainEqual({ name: 'K', valueFrom: { configMapKeyRef: { name: 'conf', key: 'k' } } });
    expect(c?.envFrom).toEqual([{ configMapRef: { name: 'conf-7' } }]);
  });

  it('checks the references in valueFrom against the pipeline scope', () => {
    const errors = validate(docs('{name: kv, image: busybox, command: [x], env: [{name: K, valueFrom: {secretKeyRef: {name: "$(params.nope)", key: k}}}]}'));
    expect(errors).toEqual([e('Pipeline/pl', 'spec.sidecars[0].env[0].valueFrom.secretKeyRef.name', 'undeclared param "nope" (the pipeline declares "v", "cm")')]);
  });
});
