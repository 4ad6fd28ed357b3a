// Pipeline shapes the side-by-side benchmarks run, as Tekton v1 objects: one
// embedded PipelineRun (pipelineSpec + taskSpec) so the same document runs on
// Tekton, through the pipod controller and through `pipod run`.

/** The image every step uses: imported into podman and the cluster's containerd, not :latest (so no pull is tried). */
export const IMAGE = 'localhost/pipod-test/debian:bookworm';

/** Requests every step asks for, identical for both systems (BestEffort pods would reserve nothing and hide the difference). */
export const STEP_REQUESTS = { cpu: '50m', memory: '32Mi' };

/** Name of the one Task every pipeline task references (a Task, not an embedded taskSpec: see TASK). */
export const TASK_NAME = 'bench-sh';

/**
 * The Task every pipeline task runs: one step running the script given as a
 * param, with an optional workspace (its path in $W). A referenced Task rather than an embedded
 * taskSpec because Tekton's webhook stores embedded taskSpecs with `spec: null`,
 * which pipod's builder (as of this commit) reads as a custom task spec and refuses.
 */
export const TASK = {
  apiVersion: 'tekton.dev/v1',
  kind: 'Task',
  metadata: { name: TASK_NAME },
  spec: {
    params: [{ name: 'script', type: 'string' }],
    workspaces: [{ name: 'data', optional: true }],
    steps: [{ name: 'run', image: IMAGE, computeResources: { requests: { ...STEP_REQUESTS } }, script: '#!/bin/sh\nset -e\nW="$(workspaces.data.path)"\n$(params.script)\n' }],
  },
};

/** The same Task without requests (BestEffort pods), for one pod whose summed requests exceed the node. */
export const TASK_NO_REQUESTS = { ...TASK, spec: { ...TASK.spec, steps: TASK.spec.steps.map(({ computeResources: _c, ...st }) => st) } };

function task(name, script, { runAfter = [], workspace = false } = {}) {
  return {
    name,
    ...(runAfter.length ? { runAfter } : {}),
    taskRef: { name: TASK_NAME },
    params: [{ name: 'script', value: script }],
    ...(workspace ? { workspaces: [{ name: 'data', workspace: 'shared' }] } : {}),
  };
}

/** A chain of n trivial tasks (each one `true` step), every task after the previous one. */
export function chain(n) {
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(task(`t${i}`, 'true', { runAfter: i ? [`t${i - 1}`] : [] }));
  return { name: `chain-${n}`, tasks, workspace: false, usefulMs: 0 };
}

/** A seed task, then n tasks at once that each read the seed and write their own file into the shared workspace, then a join that checks all n. */
export function fanOut(n) {
  const tasks = [task('seed', 'echo seed > $W/seed', { workspace: true })];
  const names = [];
  for (let i = 0; i < n; i++) {
    names.push(`f${i}`);
    tasks.push(task(`f${i}`, `cat $W/seed > $W/out-${i}`, { runAfter: ['seed'], workspace: true }));
  }
  tasks.push(task('join', `test "\`ls $W | grep -c '^out-'\`" = ${n}`, { runAfter: names, workspace: true }));
  return { name: `fan-out-${n}`, tasks, workspace: true, usefulMs: 0 };
}

/** clone → build → test → upload, moving `mb` MB of data from task to task through the shared workspace. */
export function cloneBuildTestUpload(mb) {
  const w = '$W';
  const tasks = [
    task('clone', `mkdir -p ${w}/src && head -c ${mb}M /dev/urandom > ${w}/src/blob && sha256sum ${w}/src/blob > ${w}/src.sha`, { workspace: true }),
    task('build', `sha256sum -c ${w}/src.sha >/dev/null && mkdir -p ${w}/out && cp ${w}/src/blob ${w}/out/artifact`, { runAfter: ['clone'], workspace: true }),
    task('test', `cmp ${w}/src/blob ${w}/out/artifact`, { runAfter: ['build'], workspace: true }),
    task('upload', `mkdir -p ${w}/uploaded && cp ${w}/out/artifact ${w}/uploaded/artifact && test "\`stat -c %s ${w}/uploaded/artifact\`" = ${mb * 1048576}`, { runAfter: ['test'], workspace: true }),
  ];
  return { name: `clone-build-test-upload-${mb}mb`, tasks, workspace: true, usefulMs: 0 };
}

/**
 * The PipelineRun document of a shape. `workspace` is the binding of the shared
 * workspace (omitted for shapes without one); `managedBy` delegates it to pipod.
 */
export function pipelineRun(shape, { name, namespace, workspace, managedBy, tasks } = {}) {
  const spec = {
    pipelineSpec: { ...(shape.workspace ? { workspaces: [{ name: 'shared' }] } : {}), tasks: tasks ?? shape.tasks },
    ...(shape.workspace && workspace ? { workspaces: [{ name: 'shared', ...workspace }] } : {}),
    ...(managedBy ? { managedBy } : {}),
    timeouts: { pipeline: '1h' },
  };
  return { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, ...(namespace ? { namespace } : {}) }, spec };
}

/** The tasks grouped into levels: every task of a level only runs after tasks of earlier levels. */
export function levels(shape) {
  const done = new Set();
  const out = [];
  let rest = [...shape.tasks];
  while (rest.length) {
    const level = rest.filter((t) => (t.runAfter ?? []).every((a) => done.has(a)));
    if (!level.length) throw new Error(`cycle in ${shape.name}`);
    out.push(level);
    for (const t of level) done.add(t.name);
    rest = rest.filter((t) => !level.includes(t));
  }
  return out;
}
