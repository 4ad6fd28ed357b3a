#!/usr/bin/env node
// Where pipod's wall time goes on the cluster for the 5-task chain: runs
// `pipod run --runtime kubernetes` while polling its Pod every 50 ms, and
// stamps (local clock, ms) when the Pod first exists, is scheduled, its init
// container (copies the runtime into the pod's /pipod volume) runs and ends,
// and the supervisor starts; the supervisor's own event times (ms) give the
// run itself; the rest is the CLI before the create call and pod deletion.
//   node bench/breakdown.mjs [--reps 3]
// Writes bench/results/breakdown.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { machine, median, pipodRun, r2, table, writeResult } from './lib/common.mjs';
import * as C from './lib/cluster.mjs';
import * as S from './lib/shapes.mjs';

const argv = process.argv.slice(2);
const REPS = Number(argv.includes('--reps') ? argv[argv.indexOf('--reps') + 1] : 3);
const problem = await C.clusterProblem();
if (problem) {
  console.log(`breakdown SKIPPED: ${problem}`);
  process.exit(0);
}
await C.prepareNamespace();
const kc = new k8s.KubeConfig();
kc.loadFromFile(C.KUBECONFIG);
const core = kc.makeApiClient(k8s.CoreV1Api);
const work = mkdtempSync(join(tmpdir(), 'pipod-bench-breakdown-'));
const samples = [];
for (let i = 0; i < REPS; i++) {
  const name = `breakdown-${Date.now().toString(36)}`;
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, [S.TASK, { ...S.pipelineRun(S.chain(5), { name }), metadata: { name, namespace: C.NS } }].map((d) => stringify(d)).join('---\n'));
  const seen = {};
  const stamp = (k) => (seen[k] ??= Date.now());
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const pods = await core.listNamespacedPod({ namespace: C.NS, labelSelector: `tekton.dev/pipelineRun=${name}` });
        const p = pods.items[0];
        if (p) {
          stamp('podExists');
          if (p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True')) stamp('scheduled');
          const init = p.status?.initContainerStatuses?.[0];
          if (init?.state?.running || init?.state?.terminated) stamp('initRunning');
          if (init?.state?.terminated) stamp('initDone');
          const sup = p.status?.containerStatuses?.find((c) => c.name === 'pipod-supervisor');
          if (sup?.state?.running || sup?.state?.terminated) stamp('supervisorContainerRunning');
        } else if (seen.podExists) stamp('podGone');
      } catch {
        // keep polling
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const r = await pipodRun(file, ['--runtime', 'kubernetes', '--kubeconfig', C.KUBECONFIG, '-n', C.NS, '--name', name]);
  polling = false;
  await poller;
  const t0 = r.t0;
  const steps = Object.values(r.summary.tasks).flatMap((t) => t.steps);
  const firstStep = Math.min(...steps.map((s) => Date.parse(s.startedAt)));
  const rel = (t) => (t === undefined ? undefined : t - t0);
  const m = {
    wallMs: r.ms,
    podCreatedMs: rel(seen.podExists), scheduledMs: rel(seen.scheduled), initRunningMs: rel(seen.initRunning), initDoneMs: rel(seen.initDone),
    supervisorContainerRunningMs: rel(seen.supervisorContainerRunning), supervisorRunStartedMs: rel(Date.parse(r.summary.startedAt)),
    firstStepMs: rel(firstStep), runFinishedMs: rel(Date.parse(r.summary.finishedAt)), podGoneMs: rel(seen.podGone),
  };
  samples.push({ ...m, loadavg: machine().loadavg });
  process.stderr.write(`  breakdown #${i + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v ?? NaN)])))}\n`);
}
rmSync(work, { recursive: true, force: true });
const keys = Object.keys(samples[0]).filter((k) => k !== 'loadavg');
const medians = Object.fromEntries(keys.map((k) => [k, r2(median(samples.map((s) => s[k])))]));
const d = (a, b) => (medians[a] !== undefined && medians[b] !== undefined ? r2(medians[b] - medians[a]) : undefined);
const phases = [
  ['CLI start, build, create call → Pod seen', d('zero', 'podCreatedMs') ?? medians.podCreatedMs],
  ['Pod seen → init container running (schedule, sandbox, volumes)', d('podCreatedMs', 'initRunningMs')],
  ['init container (copy the runtime into /pipod) → done', d('initRunningMs', 'initDoneMs')],
  ['init done → supervisor run.started (containers start, node starts)', d('initDoneMs', 'supervisorRunStartedMs')],
  ['run.started → first step started', d('supervisorRunStartedMs', 'firstStepMs')],
  ['first step → run.finished (5 tasks)', d('firstStepMs', 'runFinishedMs')],
  ['run.finished → pipod run exits (summary, delete pod)', medians.runFinishedMs === undefined ? undefined : r2(medians.wallMs - medians.runFinishedMs)],
];
writeResult('breakdown', { machine: machine(), shape: 'chain-5', via: 'pipod run --runtime kubernetes', pollEveryMs: 50, samples, medians, phases: Object.fromEntries(phases) });
console.log(table(['phase (median ms; 50 ms polling resolution)', 'ms'], phases));
console.log(`wall ${medians.wallMs} ms`);
