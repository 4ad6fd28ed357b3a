#!/usr/bin/env node
// How long the podbuilder takes (load + validate + plan + Pod, then the YAML
// text) for generated pipelines of 10, 100 and 1000 tasks. One command:
//   node bench/build.mjs
// Prints a table (median over repetitions) and writes bench/results/build.json.
// Wall time suffers when other work shares the cores; CPU time (user+system
// of this process, which includes the garbage collector's threads) less so.
import { build as esbuild } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Bundled inside the checkout so the external `yaml` resolves from node_modules.
mkdirSync(join(root, '.cache'), { recursive: true });
const work = mkdtempSync(join(root, '.cache', 'bench-build-'));
const bundle = join(work, 'podbuilder.mjs');
await esbuild({
  stdin: { contents: "export * from '@pipod/podbuilder';", resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'warning', external: ['yaml'],
});
let B;
try {
  B = await import(pathToFileURL(bundle).href);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * A layered DAG of n tasks, about sqrt(n) wide: every task takes a result of
 * a task in the layer before (implied ordering), uses a shared workspace and
 * runs two steps of one referenced Task; a finally task reads the status.
 */
function generate(n) {
  const width = Math.max(1, Math.round(Math.sqrt(n)));
  const task = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: unit}
spec:
  params:
    - {name: input, default: seed}
    - {name: flags, type: array, default: ["-v"]}
  workspaces: [{name: src}]
  results: [{name: out}]
  stepTemplate:
    env: [{name: LEVEL, value: bench}]
    computeResources: {requests: {cpu: 10m, memory: 16Mi}}
  steps:
    - name: prepare
      image: docker.io/library/busybox:1.36
      command: [sh, -c, "echo $(params.input) $@ > $(workspaces.src.path)/$(context.taskRun.name)", prepare]
      args: ["$(params.flags[*])"]
    - name: work
      image: docker.io/library/busybox:1.36
      env: [{name: INPUT, value: $(params.input)}]
      script: |
        cat $(workspaces.src.path)/$(context.taskRun.name) > $(results.out.path)
`;
  const lines = ['apiVersion: tekton.dev/v1', 'kind: Pipeline', 'metadata: {name: bench}', 'spec:', '  params: [{name: seed, default: s0}]', '  workspaces: [{name: shared}]', '  tasks:'];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / width);
    const input = layer === 0 ? '$(params.seed)' : `$(tasks.t${(layer - 1) * width + (i % width)}.results.out)`;
    lines.push(`    - name: t${i}`, '      taskRef: {name: unit}', `      params: [{name: input, value: "${input}"}]`, '      workspaces: [{name: src, workspace: shared}]');
  }
  lines.push('  finally:', '    - name: report', '      params: [{name: input, value: "$(tasks.status)"}]', '      taskRef: {name: unit}', '      workspaces: [{name: src, workspace: shared}]');
  return [{ name: 'task.yaml', text: task }, { name: 'pipeline.yaml', text: `${lines.join('\n')}\n` }];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const cases = [
  { tasks: 10, reps: 50 },
  { tasks: 100, reps: 20 },
  { tasks: 1000, reps: 9 },
];
const rows = [];
for (const c of cases) {
  const sources = generate(c.tasks);
  // warm up the JIT so the median measures the builder, not the compiler
  for (let i = 0; i < 3; i++) B.build(sources);
  const buildMs = [];
  const cpuMs = [];
  const yamlMs = [];
  let last;
  for (let i = 0; i < c.reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = B.build(sources);
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    cpuMs.push((c1.user + c1.system) / 1000);
    if (r.kind !== 'ok') throw new Error(`generated pipeline is invalid: ${JSON.stringify(r.errors.slice(0, 3))}`);
    const text = B.toYaml(r.pod);
    const t2 = performance.now();
    buildMs.push(t1 - t0);
    yamlMs.push(t2 - t1);
    last = { r, text };
  }
  const containers = last.r.pod.spec.containers.length;
  rows.push({
    tasks: c.tasks,
    containers,
    reps: c.reps,
    buildMedianMs: +median(buildMs).toFixed(2),
    buildMinMs: +Math.min(...buildMs).toFixed(2),
    buildCpuMedianMs: +median(cpuMs).toFixed(2),
    yamlMedianMs: +median(yamlMs).toFixed(2),
    podYamlBytes: last.text.length,
    planJsonBytes: B.toJson(last.r.plan).length,
    planEnvChunks: last.r.pod.spec.initContainers[0].env.length,
  });
}

const header = ['tasks', 'containers', 'reps', 'build median ms', 'build min ms', 'build cpu median ms', 'toYaml median ms', 'pod.yaml bytes', 'plan bytes', 'plan env chunks'];
const table = rows.map((r) => [r.tasks, r.containers, r.reps, r.buildMedianMs, r.buildMinMs, r.buildCpuMedianMs, r.yamlMedianMs, r.podYamlBytes, r.planJsonBytes, r.planEnvChunks].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const fmt = (cols) => cols.map((c, i) => c.padStart(widths[i])).join('  ');
console.log(fmt(header));
for (const t of table) console.log(fmt(t));

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/build.json'), `${JSON.stringify({ bench: 'build', node: process.version, measuredAt: new Date().toISOString(), loadavg1m: +loadavg()[0].toFixed(2), rows }, null, 2)}\n`);
console.log(`load average (1 min) ${loadavg()[0].toFixed(2)}; wrote bench/results/build.json`);
