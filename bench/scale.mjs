#!/usr/bin/env node
// How one pod behaves as the pipeline grows: chains of 10, 30, 60 and 100
// trivial tasks through `pipod run` on podman and on the cluster
// (`--runtime kubernetes`), against pod per task (Tekton on the cluster,
// one-task `pipod run`s on podman) at the smaller sizes.
//   overhead per task = (wall − useful work) / tasks; every step runs `true`,
//   so useful work is the summed step time pipod reports (a few ms per step)
//   for pipod and 0 for the baselines (Tekton reports step times in whole
//   seconds only): at most a few ms per task in pipod's favour.
//   node bench/scale.mjs [--quick] [--sizes 10,30,60,100] [--tekton-sizes 10,30] [--per-task-sizes 10]
// Writes bench/results/scale.json (scale-norequests.json with --no-requests).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { machine, median, pipodBreakdown, pipodRun, r2, table, writeResult } from './lib/common.mjs';
import * as C from './lib/cluster.mjs';
import * as S from './lib/shapes.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const opt = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const list = (s) => s.split(',').filter(Boolean).map(Number);
const SIZES = list(opt('sizes', QUICK ? '10,30' : '10,30,60,100'));
const TEKTON_SIZES = list(opt('tekton-sizes', QUICK ? '10' : '10,30'));
// node bench/scale.mjs --no-requests --only-cluster --sizes 60,100 --tekton-sizes '' → bench/results/scale-norequests.json
const PER_TASK_SIZES = list(opt('per-task-sizes', QUICK ? '' : '10'));
const REPS = Number(opt('reps', QUICK ? 1 : 2));
// --no-requests: steps without requests (BestEffort), for sizes where the one pod's summed requests do not fit the node
const NO_REQUESTS = argv.includes('--no-requests');
const ONLY_CLUSTER = argv.includes('--only-cluster');
const TASK = NO_REQUESTS ? S.TASK_NO_REQUESTS : S.TASK;
const SUFFIX = NO_REQUESTS ? '-norequests' : '';
const STEP_CPU_MILLI = NO_REQUESTS ? 0 : Number.parseInt(S.STEP_REQUESTS.cpu, 10);
const work = mkdtempSync(join(tmpdir(), 'pipod-bench-scale-'));
const uniq = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const rows = [];
const failures = [];

function writeDoc(doc) {
  const f = join(work, `${doc.metadata.name}.yaml`);
  writeFileSync(f, [TASK, doc].map((d) => stringify(d)).join('---\n'));
  return f;
}

function record(sys, n, samples, extra = {}) {
  const system = sys + SUFFIX;
  const ok = samples.filter((s) => s.ms !== undefined);
  const wall = median(ok.map((s) => s.ms));
  const useful = median(ok.map((s) => s.stepMsSum ?? 0)) ?? 0;
  const row = {
    system, tasks: n, samples, wallMs: r2(wall), usefulMs: r2(useful),
    overheadPerTaskMs: wall === undefined ? undefined : r2((wall - useful) / n),
    toSupervisorMs: r2(median(ok.map((s) => s.toSupervisorMs))), toFirstStepMs: r2(median(ok.map((s) => s.toFirstStepMs))),
    ...extra,
  };
  rows.push(row);
  process.stderr.write(`  ${system} ${n} tasks: wall ${wall === undefined ? 'FAILED' : (wall / 1000).toFixed(2) + ' s'}\n`);
  return row;
}

async function pipodSamples(n, extra) {
  const samples = [];
  for (let i = 0; i < REPS; i++) {
    const name = `scale-${n}-${uniq()}`;
    const file = writeDoc({ ...S.pipelineRun(S.chain(n), { name }), metadata: { name, ...(extra.length ? { namespace: C.NS } : {}) } });
    try {
      const r = await pipodRun(file, ['--name', name, ...extra]);
      samples.push({ ms: r.ms, ...pipodBreakdown(r.summary, r.t0, r.ms), loadavg: machine().loadavg });
    } catch (e) {
      failures.push(`pipod ${n} ${extra[1] ?? 'podman'}: ${String(e.message).slice(0, 300)}`);
      samples.push({ error: String(e.message).slice(0, 2000) });
    }
  }
  return samples;
}

/** Pod per task on podman: n one-task `pipod run`s one after the other. */
async function perTaskSamples(n) {
  const samples = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    try {
      for (let k = 0; k < n; k++) {
        const name = `ppt-${k}-${uniq()}`;
        await pipodRun(writeDoc(S.pipelineRun(S.chain(1), { name })), ['--name', name]);
      }
      samples.push({ ms: performance.now() - t0, loadavg: machine().loadavg });
    } catch (e) {
      failures.push(`pod per task ${n}: ${String(e.message).slice(0, 300)}`);
      samples.push({ error: String(e.message).slice(0, 2000) });
    }
  }
  return samples;
}

async function tektonSamples(n) {
  const samples = [];
  for (let i = 0; i < REPS; i++) {
    const name = `tekton-scale-${n}-${uniq()}`;
    try {
      const r = await C.runPipelineRun(S.pipelineRun(S.chain(n), { name }));
      const starts = r.pods.filter((p) => p.createdToContainersS !== undefined).map((p) => p.created + p.createdToContainersS * 1000);
      samples.push({
        ms: r.ms, toFirstStepMs: starts.length ? Math.min(...starts) - r.t0 : undefined, firstPodSeenMs: r.firstPodSeenMs,
        reservation: C.reservation(r.pods), memory: r.memory, loadavg: machine().loadavg,
      });
    } catch (e) {
      failures.push(`tekton ${n}: ${String(e.message).slice(0, 300)}`);
      samples.push({ error: String(e.message).slice(0, 2000) });
      C.resetClients();
    } finally {
      await C.deletePipelineRun(name).catch(() => undefined);
    }
  }
  return samples;
}

try {
  console.log('\n== scale: chains of n trivial tasks ==');
  const problem = await C.clusterProblem();
  if (problem) console.log(`cluster parts SKIPPED: ${problem}`);
  else await C.prepareNamespace();
  const kube = ['--runtime', 'kubernetes', '--kubeconfig', C.KUBECONFIG, '-n', C.NS];
  for (const n of SIZES) {
    if (!ONLY_CLUSTER) record('pipod-podman', n, await pipodSamples(n, []));
    if (!problem) {
      // pipod's pod carries every step's request summed (the builder's peak is not applied yet): past the node's free CPU it never schedules
      const free = await C.freeCpuMilli();
      if (n * STEP_CPU_MILLI > free) {
        const why = `unschedulable: the one pod requests ${n} × ${STEP_CPU_MILLI}m = ${n * STEP_CPU_MILLI}m CPU (summed step requests), the node has ${free}m free (FailedScheduling: Insufficient cpu)`;
        process.stderr.write(`  pipod-cluster ${n} tasks: ${why}\n`);
        rows.push({ system: 'pipod-cluster' + SUFFIX, tasks: n, samples: [], unschedulable: why });
      } else record('pipod-cluster', n, await pipodSamples(n, kube));
    }
    if (!problem && TEKTON_SIZES.includes(n)) record('tekton-cluster', n, await tektonSamples(n));
    if (PER_TASK_SIZES.includes(n) && !ONLY_CLUSTER) record('pod-per-task-podman', n, await perTaskSamples(n));
  }
  const find = (sys, n) => rows.find((r) => r.system === sys && r.tasks === n);
  const speedups = {};
  for (const n of SIZES) {
    const t = find('tekton-cluster', n);
    const p = find('pipod-cluster', n);
    if (t?.wallMs && p?.wallMs) speedups[`cluster-${n}`] = r2(t.wallMs / p.wallMs);
    const b = find('pod-per-task-podman', n);
    const q = find('pipod-podman', n);
    if (b?.wallMs && q?.wallMs) speedups[`podman-${n}`] = r2(b.wallMs / q.wallMs);
  }
  writeResult(`scale${SUFFIX}`, {
    machine: machine(), cluster: problem ?? 'up', reps: REPS,
    definitions: {
      wallMs: 'client-side wall time: `pipod run` start → exit (build, pod create, run, pod delete); Tekton: PipelineRun create → Succeeded seen',
      toSupervisorMs: "`pipod run` start → the supervisor's run.started (pod creation, image start, init copy of the runtime, supervisor start)",
      toFirstStepMs: 'start → first step started (pipod: ms from the summary; Tekton: first pod container start, whole seconds from the API)',
      overheadPerTaskMs: '(wall − summed step time) / tasks; Tekton step time taken as 0 (steps run `true`)',
    },
    rows, speedup: speedups,
  });
  console.log(table(['system', 'tasks', 'wall s', 'to supervisor s', 'to 1st step s', 'overhead/task ms', 'n'], rows.map((r) => [
    r.system, r.tasks, r.wallMs === undefined ? 'FAILED' : (r.wallMs / 1000).toFixed(2), r.toSupervisorMs === undefined ? '-' : (r.toSupervisorMs / 1000).toFixed(2),
    r.toFirstStepMs === undefined ? '-' : (r.toFirstStepMs / 1000).toFixed(2), r.overheadPerTaskMs, r.samples.filter((s) => s.ms !== undefined).length,
  ])));
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
  console.log(`\n${failures.length} failed sample(s):\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}
