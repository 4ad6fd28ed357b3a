// A pipeline task's workspace subPath takes params and context; a result (known only at run time) is an error.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

const pipeline = (subPath: string): string => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
  params: [{name: dir, default: d1}]
  workspaces: [{name: ws}]
  tasks:
    - name: a
      taskSpec: {results: [{name: r}], steps: [{name: s, image: busybox, script: echo}]}
    - name: b
      workspaces: [{name: w, workspace: ws, subPath: "${subPath}"}]
      taskSpec: {workspaces: [{name: w}], steps: [{name: s, image: busybox, script: echo}]}
`;

describe('workspace subPath', () => {
  it('substitutes params and context into the mount', () => {
    const r = build([{ name: 'p.yaml', text: pipeline('$(params.dir)/$(context.pipeline.name)') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(JSON.stringify(r.pod)).toContain('"subPath":"d1/pl"');
  });

  it('rejects a result in a subPath, naming the field', () => {
    expect(validate([{ name: 'p.yaml', text: pipeline('$(tasks.a.results.r)') }])).toEqual([
      { source: 'Pipeline/pl', path: 'spec.tasks[1].workspaces[0].subPath', message: 'subPath depends on the run-time value $(tasks.a.results.r); one pod needs every mount before it starts' },
    ]);
  });
});
