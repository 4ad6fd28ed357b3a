#!/usr/bin/env node
// Draws bench/results/overhead-per-task.png (overhead per task vs number of
// tasks, log–log, one line per system) from bench/results/scale.json with
// gnuplot (apt-get install gnuplot-nox); no network, no browser.
//   node bench/plot.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib/common.mjs';

const results = join(ROOT, 'bench', 'results');
const out = join(results, 'overhead-per-task.png');
const scaleFile = join(results, 'scale.json');
if (!existsSync(scaleFile)) {
  console.log('plot: no bench/results/scale.json yet (run node bench/scale.mjs)');
  process.exit(0);
}
try {
  execFileSync('gnuplot', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('plot SKIPPED: gnuplot is not installed (apt-get install -y --no-install-recommends gnuplot-nox)');
  process.exit(0);
}
const { rows: mainRows, date, machine } = JSON.parse(readFileSync(scaleFile, 'utf8'));
// sizes whose one pod did not fit the node with requests were run again without requests (scale.mjs --no-requests)
const extra = join(results, 'scale-norequests.json');
const rows = [...mainRows, ...(existsSync(extra) ? JSON.parse(readFileSync(extra, 'utf8')).rows : [])];
const SERIES = [
  ['tekton-cluster', 'Tekton v1.10, pod per task (cluster)', '#d62728', 7],
  ['pod-per-task-podman', 'pod per task via pipod run (podman)', '#ff7f0e', 9],
  ['pipod-cluster', 'pipod, one pod (cluster)', '#1f77b4', 5],
  ['pipod-cluster-norequests', 'pipod, one pod (cluster, steps without requests)', '#17becf', 4],
  ['pipod-podman', 'pipod, one pod (podman)', '#2ca02c', 13],
];
const work = mkdtempSync(join(tmpdir(), 'pipod-plot-'));
const plots = [];
for (const [sys, title, color, pt] of SERIES) {
  const pts = rows.filter((r) => r.system === sys && r.overheadPerTaskMs !== undefined).sort((a, b) => a.tasks - b.tasks);
  if (!pts.length) continue;
  const f = join(work, `${sys}.dat`);
  writeFileSync(f, pts.map((r) => `${r.tasks} ${r.overheadPerTaskMs / 1000}`).join('\n') + '\n');
  plots.push(`'${f}' using 1:2 with linespoints lw 2 pt ${pt} ps 1.5 lc rgb '${color}' title '${title}'`);
  plots.push(`'${f}' using 1:2:(sprintf('%.2f', $2)) with labels offset 3,0.6 font ',9' tc rgb '${color}' notitle`);
}
const script = `
set terminal png size 900,560 font ',11'
set output '${out}'
set title 'Overhead per task vs number of tasks (chain of trivial tasks; ${machine.cpus} shared cores, load ${machine.loadavg[0]}; ${date.slice(0, 10)})'
set xlabel 'tasks in the pipeline'
set ylabel 'overhead per task, seconds  = (wall - step time) / tasks'
set logscale y
set xrange [0:110]
set xtics (1, 10, 30, 60, 100)
set grid
set key top right box opaque
plot ${plots.join(', \\\n  ')}
`;
writeFileSync(join(work, 'plot.gp'), script);
execFileSync('gnuplot', [join(work, 'plot.gp')], { stdio: 'inherit' });
rmSync(work, { recursive: true, force: true });
console.log(`plot: ${out}`);
