#!/usr/bin/env node
// Side by side, end to end, the same PipelineRuns: a chain of 5 trivial tasks,
// a fan-out of 8 tasks sharing a workspace, and clone → build → test → upload
// moving 50 MB between tasks.
//   podman:  pod per task (each task its own one-task `pipod run`, data through
//            a host directory, -w shared=hostPath=DIR) vs one pod (`pipod run`,
//            emptyDir)
//   cluster: real Tekton (pod per task; shared workspace on a statically bound
//            hostPath PVC, as the cluster has no dynamic provisioner) vs pipod
//            through its controller (spec.managedBy, one pod, emptyDir), and
//            `pipod run --runtime kubernetes` for its time breakdown.
// Runs are interleaved (baseline, pipod, pipod, baseline, …) so load hits both.
// Every sample also times the floor, a bare one-container pod (create →
// exited/Succeeded), so each figure stands next to what no runner can beat.
//   node bench/compare.mjs [--reps 3] [--quick] [--only podman|cluster]
// Writes bench/results/{podman,cluster}-<shape>.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { join } from 'node:path';
import { machine, median, pipodBreakdown, pipodRun, r2, table, writeResult } from './lib/common.mjs';
import * as C from './lib/cluster.mjs';
import * as S from './lib/shapes.mjs';
import { plannedPeak } from './lib/peak.mjs';
import { barePod, podmanFloor } from './lib/floor.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const opt = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const REPS = Number(opt('reps', QUICK ? 1 : 3));
const ONLY = opt('only', 'all');
const SHAPES = [S.chain(5), S.fanOut(8), S.cloneBuildTestUpload(50)];
const work = mkdtempSync(join(tmpdir(), 'pipod-bench-compare-'));
const uniq = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const failures = [];

/** Writes the bench Task and a PipelineRun as one YAML file for `pipod run -f`. */
function writeDoc(doc) {
  const f = join(work, `${doc.metadata.name}.yaml`);
  writeFileSync(f, [S.TASK, doc].map((d) => stringify(d)).join('---\n'));
  return f;
}

/** Pod per task on podman: every task its own one-task pipeline, each level's tasks at once, data in a host directory. */
async function podmanPerTask(shape) {
  const dir = mkdtempSync(join(work, 'ws-'));
  const t0 = performance.now();
  const pods = [];
  for (const level of S.levels(shape)) {
    const runs = level.map((t) => {
      const name = `ppt-${t.name}-${uniq()}`;
      const { runAfter: _drop, ...alone } = t;
      const file = writeDoc(S.pipelineRun(shape, { name, tasks: [alone] }));
      return pipodRun(file, ['--name', name, ...(shape.workspace ? ['-w', `shared=hostPath=${dir}`] : [])]);
    });
    pods.push(...(await Promise.all(runs)));
  }
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return { ms, pods: pods.length, perPodMs: r2(median(pods.map((p) => p.ms))) };
}

/** One pod on podman: the whole pipeline in one `pipod run`, emptyDir workspace. */
async function podmanOnePod(shape) {
  const name = `one-${uniq()}`;
  const file = writeDoc(S.pipelineRun(shape, { name, workspace: { emptyDir: {} } }));
  const r = await pipodRun(file, ['--name', name]);
  return { ms: r.ms, ...pipodBreakdown(r.summary, r.t0, r.ms) };
}

function summarize(samples, key) {
  const ok = samples.filter((s) => s.ok);
  return median(ok.map((s) => s[key]?.ms ?? NaN));
}

async function podmanSection() {
  console.log('\n== podman: pod per task vs one pod ==');
  const rows = [];
  for (const shape of SHAPES) {
    const samples = [];
    for (let i = 0; i < REPS; i++) {
      const order = i % 2 ? ['onePod', 'floor', 'perTask'] : ['perTask', 'floor', 'onePod'];
      const s = { ok: true, loadavg: machine().loadavg };
      for (const k of order) {
        try {
          s[k] = k === 'perTask' ? await podmanPerTask(shape) : k === 'floor' ? await podmanFloor(`floor-${uniq()}`) : await podmanOnePod(shape);
          process.stderr.write(`  podman ${shape.name} #${i + 1} ${k}: ${(s[k].ms / 1000).toFixed(2)} s\n`);
        } catch (e) {
          s.ok = false;
          s.error = String(e.message ?? e).slice(0, 2000);
          failures.push(`podman ${shape.name}: ${s.error.slice(0, 300)}`);
          process.stderr.write(`  podman ${shape.name} #${i + 1} ${k} FAILED: ${s.error.slice(0, 300)}\n`);
          break;
        }
      }
      samples.push(s);
    }
    const base = summarize(samples, 'perTask');
    const one = summarize(samples, 'onePod');
    const floor = summarize(samples, 'floor');
    const res = {
      shape: shape.name, tasks: shape.tasks.length, machine: machine(),
      baseline: 'pod per task: each task a one-task `pipod run` on podman, shared data in a host directory',
      pipod: 'one pod: `pipod run` on podman, emptyDir workspace',
      floor: `a bare pod, one ${FLOOR_NOTE}: podman kube play → podman wait`,
      samples, medians: { baselineMs: r2(base), pipodMs: r2(one), floorMs: r2(floor) }, speedup: base && one ? r2(base / one) : null,
      pipodOverFloor: one && floor ? r2(one / floor) : null, baselineOverFloor: base && floor ? r2(base / floor) : null,
    };
    writeResult(`podman-${shape.name}`, res);
    rows.push([shape.name, shape.tasks.length, sec(floor), sec(base), sec(one), res.speedup ?? '-', res.pipodOverFloor ?? '-', samples.filter((s) => s.ok).length]);
  }
  console.log(table(['shape (podman)', 'tasks', 'floor s', 'pod/task s', 'one pod s', 'speedup', 'one pod/floor', 'n'], rows));
  return rows;
}

const FLOOR_NOTE = 'busybox container running `true`, create → exited';
const sec = (ms) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));

/** Runs one PipelineRun on the cluster and cleans it up; retries once after a cluster restart. */
async function clusterRun(doc) {
  try {
    return await C.runPipelineRun(doc);
  } finally {
    await C.deletePipelineRun(doc.metadata.name).catch(() => undefined);
  }
}

async function clusterSection() {
  console.log('\n== cluster: Tekton (pod per task) vs pipod (one pod) ==');
  const problem = await C.clusterProblem();
  if (problem) {
    console.log(`SKIPPED: ${problem}`);
    return { skipped: problem };
  }
  await C.prepareNamespace();
  const classes = await C.storageClasses();
  const storage = classes.length
    ? `StorageClasses present (${classes.map((c) => `${c.name}${c.default ? ' (default)' : ''}`).join(', ')}), but the benchmark uses its static hostPath PV for the same result on every cluster`
    : 'no StorageClass: no dynamic PVC provisioning; Tekton gets a statically bound hostPath PV/PVC (bench-shared), pipod an emptyDir';
  console.log(`storage: ${storage}`);
  const controller = C.startController();
  const rows = [];
  try {
    for (const shape of SHAPES) {
      const samples = [];
      const withRun = !QUICK || shape === SHAPES[0];
      for (let i = 0; i < REPS; i++) {
        const order = i % 2 ? ['pipod', 'floor', 'tekton'] : ['tekton', 'floor', 'pipod'];
        if (withRun) order.push('pipodRun');
        const s = { ok: true, loadavg: machine().loadavg };
        for (const k of order) {
          const name = `${k.toLowerCase()}-${shape.name}-${uniq()}`.slice(0, 60);
          try {
            if (k === 'floor') {
              s[k] = await C.runBarePod(barePod(name));
            } else if (k === 'pipodRun') {
              const file = writeDoc({ ...S.pipelineRun(shape, { name, workspace: { emptyDir: {} } }), metadata: { name, namespace: C.NS } });
              const mem = C.startMemorySampler();
              const r = await pipodRun(file, ['--runtime', 'kubernetes', '--kubeconfig', C.KUBECONFIG, '-n', C.NS, '--name', name]);
              s[k] = { ms: r.ms, ...pipodBreakdown(r.summary, r.t0, r.ms), memoryNote: 'pod deleted by pipod run before it could be read', controllerRssKiB: undefined };
              mem.stop([]);
            } else {
              const ws = k === 'tekton' ? { persistentVolumeClaim: { claimName: 'bench-shared' } } : { emptyDir: {} };
              const doc = S.pipelineRun(shape, { name, workspace: ws, managedBy: k === 'pipod' ? 'pipod.dev/controller' : undefined });
              const r = await clusterRun(doc);
              s[k] = {
                ms: r.ms, reservation: C.reservation(r.pods), memory: r.memory, pods: r.pods,
                ...(k === 'pipod' ? { controllerRssKiB: controller.rssKiB() } : {}),
              };
            }
            process.stderr.write(`  cluster ${shape.name} #${i + 1} ${k}: ${(s[k].ms / 1000).toFixed(2)} s\n`);
          } catch (e) {
            s.ok = false;
            s.error = `${k}: ${String(e.message ?? e).slice(0, 2000)}`;
            failures.push(`cluster ${shape.name}: ${s.error.slice(0, 300)}`);
            process.stderr.write(`  cluster ${shape.name} #${i + 1} ${k} FAILED: ${s.error.slice(0, 300)}\n`);
            C.resetClients();
            if (await C.clusterProblem()) break;
            await C.prepareNamespace().catch(() => undefined);
          }
        }
        samples.push(s);
      }
      const ok = samples.filter((s) => s.tekton && s.pipod);
      const peakName = `peak-${shape.name}`;
      const peak = await plannedPeak(writeDoc(S.pipelineRun(shape, { name: peakName, workspace: { emptyDir: {} } }))).catch((e) => ({ error: String(e.message ?? e) }));
      const tk = median(ok.map((s) => s.tekton.ms));
      const pc = median(ok.map((s) => s.pipod.ms));
      const pr = median(samples.filter((s) => s.pipodRun).map((s) => s.pipodRun.ms));
      const fl = median(samples.filter((s) => s.floor).map((s) => s.floor.ms));
      const med = (sys, f) => r2(median(ok.map((s) => f(s[sys]))));
      const res = {
        shape: shape.name, tasks: shape.tasks.length, machine: machine(), storage,
        baseline: 'Tekton v1.10 on the test cluster: one pod per task (PipelineRun created → Succeeded seen, polled every 200 ms)',
        pipod: 'pipod controller (spec.managedBy: pipod.dev/controller), one pod, emptyDir; same clock',
        pipodRun: '`pipod run --runtime kubernetes -o json` (client-side wall: build, create pod, wait, delete)',
        floor: `a bare pod, one ${FLOOR_NOTE.replace('exited', 'Succeeded seen (same 200 ms polling)')}`,
        overFloor: { tekton: tk && fl ? r2(tk / fl) : null, pipod: pc && fl ? r2(pc / fl) : null, pipodRun: pr && fl ? r2(pr / fl) : null },
        memoryMethod: 'peak over 250 ms samples of the summed cgroup v1 memory.stat total_rss (and total_rss+total_cache) of the run\'s pods under /sys/fs/cgroup/memory/kubepods',
        samples,
        medians: {
          baselineMs: r2(tk), pipodMs: r2(pc), pipodRunMs: r2(pr), floorMs: r2(fl),
          tektonPods: med('tekton', (x) => x.reservation.pods), pipodPods: med('pipod', (x) => x.reservation.pods),
          tektonCpuMilliSum: med('tekton', (x) => x.reservation.cpuMilliSum), pipodCpuMilliSum: med('pipod', (x) => x.reservation.cpuMilliSum),
          tektonMemoryMiBSum: med('tekton', (x) => x.reservation.memoryMiBSum), pipodMemoryMiBSum: med('pipod', (x) => x.reservation.memoryMiBSum),
          tektonCpuCoreSeconds: med('tekton', (x) => x.reservation.cpuCoreSeconds), pipodCpuCoreSeconds: med('pipod', (x) => x.reservation.cpuCoreSeconds),
          tektonMemoryMiBSeconds: med('tekton', (x) => x.reservation.memoryMiBSeconds), pipodMemoryMiBSeconds: med('pipod', (x) => x.reservation.memoryMiBSeconds),
          tektonPeakRssMiB: med('tekton', (x) => x.memory.peakRssMiB), pipodPeakRssMiB: med('pipod', (x) => x.memory.peakRssMiB),
          tektonPeakRssPlusCacheMiB: med('tekton', (x) => x.memory.peakRssPlusCacheMiB), pipodPeakRssPlusCacheMiB: med('pipod', (x) => x.memory.peakRssPlusCacheMiB),
          pipodControllerRssMiB: r2((median(ok.map((s) => s.pipod.controllerRssKiB)) ?? NaN) / 1024),
          pipodRunToSupervisorMs: r2(median(samples.filter((s) => s.pipodRun).map((s) => s.pipodRun.toSupervisorMs))),
          pipodRunToFirstStepMs: r2(median(samples.filter((s) => s.pipodRun).map((s) => s.pipodRun.toFirstStepMs))),
          pipodRunSupervisedMs: r2(median(samples.filter((s) => s.pipodRun).map((s) => s.pipodRun.supervisedMs))),
          pipodRunAfterRunMs: r2(median(samples.filter((s) => s.pipodRun).map((s) => s.pipodRun.afterRunMs))),
        },
        pipodPlannedPeak: peak,
        pipodPlannedPeakNote: 'the builder\'s planPeakRequests (peak concurrent step requests) for this shape; the Pod pipod creates today still carries the summed requests (planPeakRequests is not applied by `pipod build`/the controller yet), which is what the reservation fields above measure',
        speedup: tk && pc ? r2(tk / pc) : null,
      };
      writeResult(`cluster-${shape.name}`, res);
      const m = res.medians;
      rows.push([shape.name, shape.tasks.length, sec(fl), `${sec(tk)} (${res.overFloor.tekton ?? '-'}x)`, `${sec(pc)} (${res.overFloor.pipod ?? '-'}x)`, res.speedup ?? '-', pr ? `${sec(pr)} (${res.overFloor.pipodRun ?? '-'}x)` : '-', `${m.tektonPods}/${m.pipodPods}`, `${m.tektonCpuMilliSum}/${m.pipodCpuMilliSum}`, `${m.tektonMemoryMiBSum}/${m.pipodMemoryMiBSum}`, `${r2(m.tektonPeakRssMiB)}/${r2(m.pipodPeakRssMiB)}`, ok.length]);
    }
  } finally {
    await controller.stop();
  }
  console.log(table(['shape (cluster)', 'tasks', 'floor s', 'Tekton s (x floor)', 'pipod ctl s (x floor)', 'speedup', 'pipod run s (x floor)', 'pods T/p', 'req cpu m T/p', 'req MiB T/p', 'peak rss MiB T/p', 'n'], rows));
  return rows;
}

try {
  if (ONLY !== 'cluster') await podmanSection();
  if (ONLY !== 'podman') await clusterSection();
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
  console.log(`\n${failures.length} failed sample(s):\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}
