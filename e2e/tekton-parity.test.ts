/**
 * Tekton parity: conformance cases (e2e/conformance/) run by real Tekton
 * v1.15.1 on the test cluster, a pod per task, compared with the same
 * expectation pipod meets on podman. It checks that the expectations are
 * Tekton's behaviour, not ours: the run's status (and reason, when the case
 * names one), each task's status and results, and the pipeline results.
 * Cases that use what Tekton lacks (results over 4 KiB, child pipeline
 * results, pipeline sidecars, …) or a workspace shared between tasks (Tekton
 * needs a PersistentVolume for it; this cluster has no provisioner) are not
 * in the list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_BUSYBOX_IMAGE, kubectl, tektonUnavailable, waitForObject } from './cluster/cluster.ts';
import { BUSYBOX_IMAGE, ROOT } from './helpers.ts';

/**
 * Cases whose Tekton behaviour pipod claims as its own. Left out besides the
 * kinds above:
 * - `matrix`: Tekton (v1.10, still in v1.15.1) counts an `include` entry that adds a combination
 *   once per new value (Matrix.countNewCombinationsFromInclude) and creates an
 *   extra, empty TaskRun that fails validation; pipod makes the combinations
 *   matrix.md describes.
 * - `pipeline-timeout-finally`: when `timeouts.tasks` runs out Tekton (v1.10, still in
 *   v1.15.1) ends the run without its finally tasks (tektoncd/pipeline#8982, open);
 *   pipod runs them, as pipelineruns.md says.
 * - `sidecar-crash`, `sidecar-never-ready`: pipod fails a task whose sidecar
 *   crashes or never gets ready; Tekton runs the steps regardless.
 * - `group-status`, `pipeline-in-pipeline*`: pipelines in pipelines are alpha
 *   in Tekton (not enabled here), and child results are pipod's own.
 * - a taskRef with `apiVersion: tekton.dev/v1` and `kind: Task` (unit tests
 *   only): Tekton v1.15.1 makes any taskRef with an apiVersion a custom task
 *   (a CustomRun no controller answers, tektoncd/pipeline#6457); pipod runs
 *   the Task. `taskref-kind` uses `kind: Task` alone, which both read alike.
 */
const CASES = [
  'context-vars', 'finally-after-failure', 'isolated-workspace', 'kube-vars', 'on-error-continue', 'params-override', 'params-types',
  'results-types', 'retries', 'script-shebang', 'step-action', 'step-leftovers', 'step-specs', 'step-template', 'step-timeout', 'step-when',
  'task-run-specs', 'when-skip',
  // issue 17, classes 2–7 (variables, paths, steps, results, retries and matrix)
  'propagation', 'propagation-taskrun', 'legacy-vars', 'tekton-paths', 'step-order', 'step-results', 'matrix-empty',
  // issue 17: Kubernetes objects in the file, several runs, taskRef kind, non-root pods, pod template env/volumes and task metadata
  'kube-objects', 'several-runs', 'taskref-kind', 'non-root', 'pod-template',
];

const noTekton = tektonUnavailable();
if (noTekton !== undefined) console.warn(`[e2e/tekton-parity] skipped: ${noTekton}`);
// The namespace pipod run uses too: context-vars expects it in $(context.pipelineRun.namespace).
const NS = 'default';
const cleanup: string[][] = [];
const dir = join(ROOT, 'e2e/conformance');

type Rec = Record<string, unknown>;
interface Summary { readonly status: string; readonly reason?: string; readonly tasks?: Record<string, { status?: string; results?: unknown }>; readonly results?: unknown }
interface Expectation {
  readonly args?: readonly string[];
  readonly summary?: Summary;
  /** A file of several runs: one summary per run, in order. */
  readonly runs?: readonly Summary[];
}
interface Condition { readonly type: string; readonly status: string; readonly reason?: string }

const succeeded = (o: Rec): Condition | undefined => ((o['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Succeeded');

/** Tekton's PipelineRun reason as a pipod run status. */
function runStatus(c: Condition): string {
  if (c.status === 'True') return 'Succeeded';
  if (c.reason === 'PipelineRunTimeout') return 'TimedOut';
  if (c.reason === 'Cancelled') return 'Cancelled';
  return 'Failed';
}

/** Tekton's TaskRun condition as a pipod task status. */
function taskStatus(c: Condition | undefined): string {
  if (c?.status === 'True') return 'Succeeded';
  if (c?.reason === 'TaskRunTimeout') return 'TimedOut';
  if (c?.reason === 'TaskRunCancelled') return 'Cancelled';
  return c?.status === 'False' ? 'Failed' : 'Running';
}

/** `-p name=value` arguments as PipelineRun params (JSON arrays and objects as such). */
function paramsOf(args: readonly string[]): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '-p') throw new Error(`the parity suite only understands -p, not ${args[i]}`);
    const [name, ...rest] = (args[++i] ?? '').split('=');
    const raw = rest.join('=');
    out.push({ name: name ?? '', value: /^[[{]/.test(raw) ? JSON.parse(raw) : raw });
  }
  return out;
}

/** Runs a case on Tekton and reads back what pipod's summary would say, one per run of the file. */
async function runOnTekton(name: string, want: Expectation): Promise<Rec[]> {
  const text = readFileSync(join(dir, `${name}.yaml`), 'utf8').replaceAll(BUSYBOX_IMAGE, CLUSTER_BUSYBOX_IMAGE);
  const docs = parseAllDocuments(text).map((d) => d.toJSON() as Rec).filter((d) => d !== null);
  const isRun = (d: Rec): boolean => d['kind'] === 'PipelineRun' || d['kind'] === 'TaskRun';
  let runs = docs.filter(isRun);
  // ConfigMaps, Secrets and ServiceAccounts are applied with the definitions, as `kubectl create -f` of the file would.
  const defs = docs.filter((d) => !isRun(d));
  const pipeline = defs.find((d) => d['kind'] === 'Pipeline');
  const task = defs.find((d) => d['kind'] === 'Task');
  if (runs.length === 0 && pipeline !== undefined) {
    runs = [{ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', spec: { pipelineRef: { name: (pipeline['metadata'] as Rec)['name'] } } }];
  } else if (runs.length === 0 && task !== undefined) {
    // A Task alone runs as pipod runs it: one TaskRun, the task keyed by its name.
    runs = [{ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: { taskRef: { name: (task['metadata'] as Rec)['name'] } } }];
  }
  if (runs.length === 0) throw new Error(`${name}: no Pipeline, PipelineRun or Task`);
  for (const d of defs) {
    const r = kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify(d));
    if (r.code !== 0) throw new Error(`${name}: kubectl apply: ${r.stderr}`);
    cleanup.push([String(d['kind']).toLowerCase(), String((d['metadata'] as Rec)['name'])]);
  }
  const out: Rec[] = [];
  // One after another, as pipod runs them.
  for (const run of runs) {
    // A file of several runs keeps their names (pipod run --name names one run).
    const prName = runs.length > 1 ? String((run['metadata'] as Rec)['name']) : `conf-${name}`;
    out.push(await runOneOnTekton(name, run, prName, want, runs.length > 1 ? undefined : pipeline ?? task));
  }
  return out;
}

async function runOneOnTekton(name: string, given: Rec, prName: string, want: Expectation, def: Rec | undefined): Promise<Rec> {
  const kind = String(given['kind']).toLowerCase();
  const params = paramsOf(want.args ?? []);
  // pipod binds a workspace the run leaves unbound to an emptyDir; Tekton needs it said.
  const declared = (((def?.['spec'] as Rec | undefined)?.['workspaces'] ?? []) as { name: string; optional?: boolean }[]);
  const bound = (((given['spec'] as Rec)['workspaces'] ?? []) as { name: string }[]);
  const unbound = declared.filter((w) => !w.optional && !bound.some((b) => b.name === w.name)).map((w) => ({ name: w.name, emptyDir: {} }));
  const spec: Rec = { ...(given['spec'] as Rec), ...(params.length > 0 ? { params } : {}), ...(unbound.length > 0 ? { workspaces: [...bound, ...unbound] } : {}) };
  const run = { ...given, metadata: { name: prName, namespace: NS }, spec };
  kubectl(['delete', kind, '-n', NS, prName, '--ignore-not-found']);
  cleanup.push([kind, prName]);
  const c = kubectl(['create', '-n', NS, '-f', '-'], JSON.stringify(run));
  if (c.code !== 0) throw new Error(`${name}: kubectl create: ${c.stderr}`);
  const pr = await waitForObject(['get', kind, '-n', NS, prName], (o) => {
    const cond = succeeded(o);
    return cond !== undefined && cond.status !== 'Unknown' ? o : undefined;
  }, 300_000);
  if (kind === 'taskrun') {
    const results = ((pr['status'] as { results?: { name: string; value: unknown }[] } | undefined)?.results ?? []);
    const st = taskStatus(succeeded(pr));
    // pipod keys a TaskRun's one task by its Task's name, else by the TaskRun's own name.
    const key = String(((spec['taskRef'] as Rec | undefined)?.['name']) ?? ((given['metadata'] as Rec | undefined)?.['name']) ?? prName);
    return { status: st, tasks: { [key]: { status: st, results: Object.fromEntries(results.map((r) => [r.name, r.value])) } } };
  }
  const trs = JSON.parse(kubectl(['get', 'taskruns', '-n', NS, '-l', `tekton.dev/pipelineRun=${prName}`, '-o', 'json']).stdout) as { items: Rec[] };
  const prStatus = pr['status'] as { skippedTasks?: { name: string }[]; results?: { name: string; value: unknown }[] };
  const tasks: Record<string, Rec> = {};
  for (const tr of trs.items) {
    const key = String((tr['metadata'] as Rec)['name']).slice(prName.length + 1);
    const results = ((tr['status'] as { results?: { name: string; value: unknown }[] } | undefined)?.results ?? []);
    tasks[key] = { status: taskStatus(succeeded(tr)), results: Object.fromEntries(results.map((r) => [r.name, r.value])) };
  }
  // Tekton names a skipped matrixed task once; pipod's summary lists its instances (`<task>-<i>`).
  const skipped = new Set((prStatus.skippedTasks ?? []).map((s) => s.name));
  for (const k of Object.keys(want.summary?.tasks ?? {})) {
    if (!(k in tasks) && (skipped.has(k) || skipped.has(k.replace(/-\d+$/, '')))) tasks[k] = { status: 'Skipped' };
  }
  const cond = succeeded(pr) as Condition;
  return {
    status: runStatus(cond), reason: cond.reason, tasks,
    results: Object.fromEntries((prStatus.results ?? []).map((r) => [r.name, r.value])),
  };
}

/** The parts of an expectation that Tekton reports too, one per run. */
function comparable(want: Expectation): Rec[] {
  return (want.runs ?? (want.summary ? [want.summary] : [])).map((sum) => {
    const tasks: Record<string, Rec> = {};
    for (const [k, t] of Object.entries(sum.tasks ?? {})) {
      tasks[k] = { ...(t.status !== undefined ? { status: t.status } : {}), ...(t.results !== undefined ? { results: t.results } : {}) };
    }
    return {
      status: sum.status, ...(sum.reason !== undefined ? { reason: sum.reason } : {}), tasks,
      ...(sum.results !== undefined ? { results: sum.results } : {}),
    };
  });
}

describe.skipIf(noTekton !== undefined)('conformance cases on real Tekton', () => {
  afterAll(() => {
    if (process.env['PIPOD_E2E_KEEP']) return;
    for (const [kind, name] of cleanup) kubectl(['delete', '-n', NS, kind ?? '', name ?? '', '--ignore-not-found', '--wait=false']);
  });

  it.each(CASES)('%s: Tekton meets the expectation pipod meets on podman', async (name) => {
    const want = parse(readFileSync(join(dir, `${name}.expect.yaml`), 'utf8')) as Expectation;
    const got = await runOnTekton(name, want);
    expect(got).toMatchObject(comparable(want));
  });
});
