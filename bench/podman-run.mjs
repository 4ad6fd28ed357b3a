#!/usr/bin/env node
// Where the time of a `pipod run` on podman goes: from the CLI's start to the
// supervisor's start (build, image checks, kube play, init copying the
// runtime), the supervised run itself, and after it (log drain, pod removal).
//
//   node bench/podman-run.mjs [--rounds 3]
//
// Needs what scripts/setup.sh installs (podman, the runtime and test images).
import { join } from 'node:path';
import { ROOT, machine, median, pipodBreakdown, pipodRun, r2, table, writeResult } from './lib/common.mjs';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i > 0 ? Number(process.argv[i + 1]) : 3;

const CASES = [
  { name: 'busybox (1 task, 2 steps)', file: 'e2e/pipelines/busybox.yaml', args: [] },
  { name: 'results (2 tasks)', file: 'e2e/pipelines/results.yaml', args: [] },
  { name: 'hello (3 tasks, workspace)', file: 'examples/hello.yaml', args: [] },
];

const rows = [];
for (const c of CASES) {
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { ms, t0, summary } = await pipodRun(join(ROOT, c.file), c.args);
    samples.push({ wallMs: ms, ...pipodBreakdown(summary, t0, ms) });
  }
  const m = (k) => r2(median(samples.map((s) => s[k])));
  rows.push({ case: c.name, rounds: ROUNDS, wallMs: m('wallMs'), toSupervisorMs: m('toSupervisorMs'), supervisedMs: m('supervisedMs'), afterRunMs: m('afterRunMs'), samples });
}

console.log(table(
  ['case', 'wall ms', 'to supervisor ms', 'supervised ms', 'after run ms'],
  rows.map((r) => [r.case, r.wallMs, r.toSupervisorMs, r.supervisedMs, r.afterRunMs]),
));
const file = writeResult('podman-run', { machine: machine(), rows });
console.log(`\n(median of ${ROUNDS}; ${file})`);
