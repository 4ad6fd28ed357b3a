// Isolated workspaces: mounted only in the steps and sidecars that name them; an undeclared one is an error naming the field.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

const task = (ws: string): string => `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  workspaces: [{name: w}, {name: shared}]
  steps:
    - {name: a, image: busybox, script: echo, workspaces: [{name: ${ws}, mountPath: /iso}]}
    - {name: b, image: busybox, script: echo}
`;

describe('isolated workspaces', () => {
  it('mounts an isolated workspace only where named, at its mountPath; other workspaces everywhere', () => {
    const r = build([{ name: 't.yaml', text: task('w') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const cs = (r.pod['spec'] as { containers: { name: string; volumeMounts: { name: string; mountPath: string }[] }[] }).containers;
    const paths = (n: string): string[] => (cs.find((c) => c.name === n)?.volumeMounts ?? []).map((m) => m.mountPath).filter((p) => p === '/iso' || p.startsWith('/workspace/'));
    expect(paths('t-a')).toEqual(['/iso', '/workspace/shared']);
    expect(paths('t-b')).toEqual(['/workspace/shared']);
  });

  it('names an undeclared step workspace', () => {
    expect(validate([{ name: 't.yaml', text: task('nope') }])).toEqual([
      { source: 'Task/t', path: 'spec.steps[0].workspaces[0].name', message: 'undeclared workspace "nope" (the task declares "w", "shared")' },
    ]);
  });
});
