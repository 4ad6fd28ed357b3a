/** StepActions: a step with `ref` becomes the StepAction it names, its params substituted from the step's. */
import { type ParamValue, substitute, substituteArgs } from '@pipod/plan';
import { viaField } from '../errors.ts';
import type { ContainerSpec, TaskSpec } from '../model.ts';
import type { Documents } from './documents.ts';
import { paramResolver } from './scope.ts';

/** The task with every `ref` step replaced by its StepAction (a step whose StepAction cannot be used stays as written, its errors reported). */
export function withStepActions(docs: Documents, spec: TaskSpec | undefined): TaskSpec | undefined {
  if (!spec?.steps.some((s) => s.ref)) return spec;
  const td = docs.sink.at(spec.source);
  return {
    ...spec,
    steps: spec.steps.map((s): ContainerSpec => {
      if (!s.ref) return s;
      const doc = docs.resolver.stepAction?.(s.ref.name);
      if (!doc) {
        td.error(s.ref.path, `unknown StepAction "${s.ref.name}": no StepAction of that name among the documents given`);
        return s;
      }
      const sa = docs.stepAction(doc);
      if (!sa) return s;
      const values = new Map<string, ParamValue>();
      for (const ps of sa.params) {
        const v = s.params?.find((x) => x.name === ps.name)?.value ?? ps.default;
        if (v === undefined) td.error(viaField(s.path, 'params'), `missing value for required param "${ps.name}" of StepAction "${s.ref.name}"`);
        else values.set(`${ps.name}`, v);
      }
      for (const p of s.params ?? []) {
        if (!sa.params.some((x) => x.name === p.name)) td.error(viaField(p.path, 'name'), `StepAction "${s.ref.name}" declares no param "${p.name}"`);
      }
      // With a param missing the step stays unresolved, so its errors are not repeated downstream.
      if (values.size < sa.params.length) return s;
      const r = paramResolver(values);
      const sub = (t: string): string => substitute(t, r);
      const workingDir = s.workingDir ?? (sa.workingDir !== undefined ? sub(sa.workingDir) : undefined);
      const securityContext = s.securityContext ?? sa.securityContext;
      return {
        ...s, imagePath: viaField(s.path, 'ref'),
        ...(sa.image !== undefined ? { image: sub(sa.image) } : {}),
        ...(sa.command ? { command: substituteArgs(sa.command, r) } : {}),
        ...(sa.args ? { args: substituteArgs(sa.args, r) } : {}),
        ...(sa.script !== undefined ? { script: sub(sa.script) } : {}),
        ...(workingDir !== undefined ? { workingDir } : {}),
        ...(securityContext ? { securityContext } : {}),
        env: sa.env.map((e) => (e.value !== undefined ? { ...e, value: sub(e.value) } : e)),
        volumeMounts: sa.volumeMounts,
        results: [...s.results, ...sa.results.filter((x) => !s.results.some((y) => y.name === x.name))],
      };
    }),
  };
}
