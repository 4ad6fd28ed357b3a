// Builder rules of issue 17's variable classes: propagation into embedded
// specs, legacy reference spellings, Tekton's paths, task results taken from
// step results, taskRunSpecs timeouts and unnamed sidecars.
import { describe, expect, it } from 'vitest';
import type { ExecutionPlan, PlanTask } from '@pipod/plan';
import { type FieldError, build, validate } from '@pipod/podbuilder';

type Obj = Record<string, unknown>;

function built(text: string): { plan: ExecutionPlan; pod: Obj } {
  const r = build([{ name: 'in.yaml', text }]);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
  return { plan: r.plan, pod: r.pod };
}

const task = (plan: ExecutionPlan, name: string): PlanTask => {
  const t = [...plan.tasks, ...plan.finally].find((x) => x.name === name);
  if (!t) throw new Error(`no task ${name}`);
  return t;
};

/** A step's script without the shell prologue the builder adds to a script without a shebang. */
const body = (t: PlanTask, i = 0): string | undefined => t.steps[i]?.script?.replace('#!/bin/sh\nset -e\n', '');

/** The container of a step or sidecar by its pod name. */
function container(pod: Obj, name: string): Obj {
  const c = ((pod['spec'] as Obj)['containers'] as Obj[]).find((x) => x['name'] === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

describe('propagation into embedded specs', () => {
  it('a pipeline task\'s params and workspaces reach an embedded taskSpec that declares neither; objects merge key by key', () => {
    const { plan, pod } = built(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
  params:
    - {name: repo, type: object, properties: {url: {type: string}, commit: {type: string}}, default: {url: a.com, commit: c1}}
    - {name: level, enum: [low, high], default: high}
  workspaces: [{name: src}]
  tasks:
    - name: t
      params:
        - {name: extra, value: "x-$(params.level)"}
        - {name: repo, value: {url: b.com, branch: main}}
      workspaces: [{name: w, workspace: src}]
      taskSpec:
        steps:
          - name: s
            image: busybox
            script: echo "$(params.extra) $(params.repo.url) $(params.repo.commit) $(params.repo.branch) $(params.level)" $(workspaces.w.path)
`);
    expect(body(task(plan, 't'))).toBe('echo "x-high b.com c1 main high" /workspace/w');
    expect(container(pod, 't-s')['volumeMounts']).toContainEqual({ name: 'ws-src', mountPath: '/workspace/w' });
  });

  it('a TaskRun\'s params and workspaces reach its embedded taskSpec; a referenced Task still gets only what it declares', () => {
    const { plan, pod } = built(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  params: [{name: who, value: you}, {name: list, value: [a, b]}]
  workspaces: [{name: data, emptyDir: {}}]
  taskSpec:
    steps:
      - name: s
        image: busybox
        args: ["$(params.list[*])"]
        script: echo $(params.who) $(workspaces.data.path)
`);
    const t = task(plan, 'tr');
    expect(body(t)).toBe('echo you /workspace/data');
    expect(t.steps[0]?.args).toEqual(['a', 'b']);
    expect(container(pod, 'tr-s')['volumeMounts']).toContainEqual({ name: 'ws-data', mountPath: '/workspace/data' });
    const errs = validate([{ name: 'in.yaml', text: `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  steps: [{name: s, image: busybox, script: echo $(params.who)}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  params: [{name: who, value: you}]
  taskRef: {name: t}
` }]);
    expect(errs).toEqual<FieldError[]>([{ source: 'Task/t', path: 'spec.steps[0].script', message: 'undeclared param "who" (the task declares none)' }]);
  });

  it('a StepAction\'s params may take a propagated param', () => {
    const { plan, pod } = built(`apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: say}
spec:
  params: [{name: msg}]
  image: busybox
  env: [{name: MSG, value: $(params.msg)}]
  script: echo "$MSG"
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr}
spec:
  params: [{name: greeting, value: hi}]
  pipelineSpec:
    tasks:
      - name: t
        taskSpec:
          steps:
            - name: s
              ref: {name: say}
              params: [{name: msg, value: "$(params.greeting)!"}]
`);
    expect(body(task(plan, 't'))).toBe('echo "$MSG"');
    // A static env value lives in the container spec, not in the plan.
    expect(container(pod, 't-s')['env']).toContainEqual({ name: 'MSG', value: 'hi!' });
  });
});

describe('legacy spellings and context', () => {
  it('$(inputs.params.x) and the bracket forms are the same params; results["r"].path too', () => {
    const { plan } = built(`apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: a, default: A}, {name: b.c, default: BC}]
  results: [{name: r}]
  steps:
    - name: s
      image: busybox
      script: echo $(inputs.params.a) $(params["b.c"]) $(params['a']) > $(results["r"].path) $(results['r'].path)
`);
    expect(body(task(plan, 't'))).toBe('echo A BC A > /tekton/results/r /tekton/results/r');
  });

  it('an undeclared $(inputs.params.x) is an error like $(params.x)', () => {
    expect(validate([{ name: 'in.yaml', text: 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: echo $(inputs.params.nope)}]\n' }]))
      .toEqual<FieldError[]>([{ source: 'Task/t', path: 'spec.steps[0].script', message: 'undeclared param "nope" (the task declares none)' }]);
  });
});

describe('Tekton variables pipod does not provide', () => {
  it('credentials and artifacts paths are errors, not left as written; other $(…) is the shell\'s', () => {
    const text = 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: "echo $(credentials.path) $(artifacts.path) $(date)"}]\n';
    expect(validate([{ name: 'in.yaml', text }])).toEqual<FieldError[]>([
      { source: 'Task/t', path: 'spec.steps[0].script', message: '$(credentials.path) is not supported yet (Tekton\'s credential initialisation from annotated secrets): mount the secret as a workspace or volume' },
      { source: 'Task/t', path: 'spec.steps[0].script', message: '$(artifacts.path) is not supported yet (Tekton\'s alpha artifacts)' },
    ]);
  });
});

describe('Tekton paths', () => {
  const { plan, pod } = built(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  workspaces: [{name: sig, emptyDir: {}}]
  taskSpec:
    workspaces: [{name: sig}]
    sidecars:
      - image: busybox
        volumeMounts: [{name: $(workspaces.sig.volume), mountPath: /sig}, {name: $(workspaces.sig.volume), mountPath: $(workspaces.sig.path)}]
        script: ls /sig
    steps:
      - name: a
        image: busybox
        results: [{name: x}]
        script: echo > $(step.results.x.path)
      - name: b
        image: busybox
        script: cat $(steps.step-a.exitCode.path) /tekton/steps/step-a/exitCode
`);
  it('exit codes and step results are at Tekton\'s /tekton/steps/step-<name>', () => {
    const t = task(plan, 'tr');
    expect(t.steps.map((_, i) => body(t, i))).toEqual(['echo > /tekton/steps/step-a/results/x', 'cat /tekton/steps/step-a/exitCode /tekton/steps/step-a/exitCode']);
  });
  it('every step mounts its task\'s steps directory and home; sidecars do not', () => {
    const mounts = container(pod, 'tr-b')['volumeMounts'] as Obj[];
    expect(mounts).toContainEqual({ name: 'pipod', mountPath: '/tekton/home', subPath: 'run/tasks/tr/home' });
    expect(mounts).toContainEqual({ name: 'pipod', mountPath: '/tekton/steps', subPath: 'run/tasks/tr/steps' });
    const side = (container(pod, 'tr-unnamed-0')['volumeMounts'] as Obj[]).map((m) => m['mountPath']);
    expect(side).not.toContain('/tekton/home');
  });
  it('a sidecar without a name, and its volumeMount of $(workspaces.<w>.volume) (the same mount as the workspace\'s is kept once)', () => {
    const mounts = (container(pod, 'tr-unnamed-0')['volumeMounts'] as Obj[]).filter((m) => m['name'] === 'ws-sig');
    expect(mounts).toEqual([{ name: 'ws-sig', mountPath: '/workspace/sig' }, { name: 'ws-sig', mountPath: '/sig' }]);
    expect(task(plan, 'tr').sidecars.map((s) => s.name)).toEqual(['unnamed-0']);
  });
  it('a step that mounts its own /tekton/home keeps it', () => {
    const r = built(`apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  volumes: [{name: h, emptyDir: {}}]
  steps: [{name: s, image: busybox, script: echo, volumeMounts: [{name: h, mountPath: /tekton/home}]}]
`);
    expect((container(r.pod, 't-s')['volumeMounts'] as Obj[]).filter((m) => m['mountPath'] === '/tekton/home')).toEqual([{ name: 't-h', mountPath: '/tekton/home' }]);
  });
});

describe('task results from step results', () => {
  const text = (value: string): string => `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  results: [{name: out, value: "${value}"}]
  steps: [{name: s, image: busybox, results: [{name: r}], script: echo}]
`;
  it('value $(steps.<s>.results.<r>) names the step result in the plan', () => {
    expect(task(built(text('$(steps.s.results.r)')).plan, 't').results).toEqual([{ name: 'out', type: 'string', fromStep: { step: 's', result: 'r' } }]);
  });
  it.each([
    ['$(steps.nope.results.r)', 'unknown step "nope" (the task has "s")'],
    ['$(steps.s.results.other)', 'step "s" declares no result "other"'],
    ['x $(steps.s.results.r)', 'a task result\'s value must be one whole step result, $(steps.<step>.results.<result>), not "x $(steps.s.results.r)"'],
    ['$(steps.s.results.r[0])', 'a task result\'s value must be one whole step result, $(steps.<step>.results.<result>), not "$(steps.s.results.r[0])"'],
  ])('%s is an error', (value, message) => {
    expect(validate([{ name: 'in.yaml', text: text(value) }])).toEqual<FieldError[]>([{ source: 'Task/t', path: 'spec.results[0].value', message }]);
  });
});

describe('taskRunSpecs timeout', () => {
  it('replaces the pipeline task\'s timeout', () => {
    const { plan } = built(`apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr}
spec:
  taskRunSpecs:
    - {pipelineTaskName: a, timeout: 30s}
  pipelineSpec:
    tasks:
      - name: a
        timeout: 1h
        taskSpec: {steps: [{name: s, image: busybox, script: echo}]}
      - name: b
        timeout: 2m
        taskSpec: {steps: [{name: s, image: busybox, script: echo}]}
`);
    expect([task(plan, 'a').timeoutMs, task(plan, 'b').timeoutMs]).toEqual([30_000, 120_000]);
  });
});
