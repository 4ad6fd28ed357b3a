// StepActions: a step with ref becomes the StepAction, params substituted; the exact errors of each rule.
import { describe, expect, it } from 'vitest';
import { type FieldError, build, validate } from '@pipod/podbuilder';

const action = (extra = ''): string => `apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: act}
spec:
  params: [{name: who}, {name: greeting, default: hello}, {name: list, type: array, default: [a, b]}]
  results: [{name: line}]
  image: busybox
  command: [echo]
  args: ["$(params.greeting)", "$(params.list[*])"]
  env: [{name: WHO, value: $(params.who)}]
${extra}`;
const task = (step: string): string => `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: p, default: x}]
  steps:
${step}`;
const e = (source: string, path: string, message: string): FieldError => ({ source, path, message });
const srcs = (...texts: string[]) => texts.map((text, i) => ({ name: `d${i}.yaml`, text }));

describe('StepActions', () => {
  it('a step with ref runs the StepAction with its params (task params substituted after), results and env', () => {
    const r = build(srcs(action(), task('    - name: s\n      ref: {name: act}\n      params: [{name: who, value: $(params.p)}]\n      timeout: 5s\n')));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const s = r.plan.tasks[0]?.steps[0];
    expect(s).toMatchObject({ name: 's', image: 'busybox', command: ['echo'], args: ['hello', 'a', 'b'], timeoutMs: 5000, results: [{ name: 'line', type: 'string' }] });
    expect(JSON.stringify(r.pod)).toContain('{"name":"WHO","value":"x"}');
  });
});

const rows: { rule: string; docs: string[]; errors: FieldError[] }[] = [
  {
    rule: 'a step with ref setting what the StepAction gives',
    docs: [action(), task('    - name: s\n      ref: {name: act}\n      image: busybox\n      script: echo\n      params: [{name: who, value: y}]\n')],
    errors: [e('Task/t', 'spec.steps[0].image', 'a step with ref takes image from its StepAction'), e('Task/t', 'spec.steps[0].script', 'a step with ref takes script from its StepAction')],
  },
  {
    rule: 'missing and undeclared StepAction params',
    docs: [action(), task('    - name: s\n      ref: {name: act}\n      params: [{name: nope, value: y}]\n')],
    errors: [e('Task/t', 'spec.steps[0].params', 'missing value for required param "who" of StepAction "act"'), e('Task/t', 'spec.steps[0].params[0].name', 'StepAction "act" declares no param "nope"')],
  },
  {
    rule: 'step params without ref',
    docs: [task('    - name: s\n      image: busybox\n      script: echo\n      params: [{name: who, value: y}]\n')],
    errors: [e('Task/t', 'spec.steps[0].params', 'step params are for a step with ref (a StepAction)')],
  },
  {
    rule: 'param references in a StepAction script (Tekton refuses them; env is the way in)',
    docs: [action().replace('  command: [echo]\n  args: ["$(params.greeting)", "$(params.list[*])"]\n', '  script: |\n    echo "$WHO" $(params.greeting) $(params["list"][*])\n')],
    errors: [e('StepAction/act', 'spec.script', 'param substitution in a StepAction script is not allowed (as in Tekton): set an env var from the param and use that')],
  },
  {
    rule: 'step result references in a script or workingDir (Tekton allows env, command and args)',
    docs: [task('    - name: a\n      image: busybox\n      results: [{name: r}]\n      script: printf x > $(step.results.r.path)\n    - name: b\n      image: busybox\n      workingDir: /w/$(steps.a.results.r)\n      env: [{name: R, value: $(steps.a.results.r)}]\n      args: ["$(steps.a.results.r)"]\n      script: echo $(steps.a.results.r) "$R"\n')],
    errors: [
      e('Task/t', 'spec.steps[1].script', 'step result references are allowed only in env, command and args (as in Tekton), not in script: pass the value through env'),
      e('Task/t', 'spec.steps[1].workingDir', 'step result references are allowed only in env, command and args (as in Tekton), not in workingDir: pass the value through env'),
    ],
  },
  {
    rule: 'StepAction apiVersion',
    docs: [action().replace('v1beta1', 'v1')],
    errors: [e('StepAction/act', 'apiVersion', 'unsupported apiVersion "tekton.dev/v1" (only tekton.dev/v1beta1 or tekton.dev/v1alpha1 is read)')],
  },
  {
    rule: 'StepAction without image, with unknown field',
    docs: [action('  bogus: 1\n').replace('  image: busybox\n', ''), task('    - name: s\n      ref: {name: act}\n      params: [{name: who, value: y}]\n')],
    errors: [e('StepAction/act', 'spec.bogus', 'unknown field'), e('StepAction/act', 'spec.image', 'required field is missing')],
  },
];

describe('StepAction validation', () => {
  for (const row of rows) {
    it(row.rule, () => {
      expect(validate(srcs(...row.docs))).toEqual(row.errors);
    });
  }
});
