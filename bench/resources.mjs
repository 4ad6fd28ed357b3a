#!/usr/bin/env node
// Summed container requests (what Kubernetes reserves for a Pod as built)
// versus pipod's peak requests, for generated pipelines of 10, 100 and 1000
// tasks, with the time planPeakRequests takes. One command:
//   node bench/resources.mjs
// Prints a table and writes bench/results/resources.json.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'pipod-bench-resources-'));
const bundle = join(work, 'resources.mjs');
await build({
  stdin: {
    contents: "export * from '@pipod/podbuilder/resources'; export { SUPERVISOR_CONTAINER, INIT_CONTAINER, DEFAULT_SETTINGS } from '@pipod/plan';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  logLevel: 'warning',
});
const R = await import(pathToFileURL(bundle).href);
rmSync(work, { recursive: true, force: true });

/** mulberry32: seeded, so every run measures the same pipelines. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (rand, xs) => xs[Math.floor(rand() * xs.length)];
const CPU = ['100m', '250m', '500m', '1', '2'];
const MEM = ['128Mi', '256Mi', '512Mi', '1Gi', '2Gi', '4Gi'];

/** Tasks with 1–4 steps and, one time in five, a sidecar; the DAG comes from `deps(i, names)`. */
function pipeline(seed, n, deps) {
  const rand = prng(seed);
  const tasks = [];
  const containers = [];
  for (let i = 0; i < n; i++) {
    const name = `t${i}`;
    const steps = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, j) => `s${j}`);
    const sidecars = rand() < 0.2 ? ['svc'] : [];
    const mk = (s) => ({ name: s, container: `${name}-${s}`, image: 'x', command: [], args: [], env: [], onError: 'stopAndFail', results: [], terminationGraceMs: 1000 });
    tasks.push({ name, id: name, dependsOn: deps(i, tasks.map((t) => t.name), rand), when: [], retries: 0, onError: 'stopAndFail', params: {}, results: [], steps: steps.map(mk), sidecars: sidecars.map(mk) });
    for (const s of [...steps, ...sidecars]) {
      const cpu = pick(rand, CPU);
      const memory = pick(rand, MEM);
      containers.push({ name: `${name}-${s}`, image: 'x', resources: { requests: { cpu, memory }, limits: { memory } } });
    }
  }
  const plan = {
    apiVersion: 'pipod.dev/v1alpha1', kind: 'ExecutionPlan', schemaVersion: 1,
    run: { pipelineRunName: 'bench', namespace: 'default', uid: 'u', pipelineName: 'bench' },
    timeouts: {}, params: {}, tasks, finally: [], results: [], sidecars: [], settings: R.DEFAULT_SETTINGS,
  };
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench' },
    spec: {
      initContainers: [{ name: R.INIT_CONTAINER, image: 'x', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
      containers: [{ name: R.SUPERVISOR_CONTAINER, image: 'x', resources: { requests: { cpu: '50m', memory: '64Mi' } } }, ...containers],
    },
  };
  return { plan, pod, edges: tasks.reduce((s, t) => s + t.dependsOn.length, 0) };
}

const shapes = {
  chain: (i, names) => (i === 0 ? [] : [names[i - 1]]),
  'fan-out': (i, names) => (i === 0 ? [] : [names[0]]),
  // Layers of √n tasks, each task waiting for the whole previous layer.
  diamond: (i, names, _rand, n) => {
    const w = Math.max(1, Math.round(Math.sqrt(n)));
    const layer = Math.floor(i / w);
    return layer === 0 ? [] : names.slice((layer - 1) * w, layer * w);
  },
  // Each task waits for each earlier task with probability 3/i (about three dependencies each).
  random: (i, names, rand) => names.filter(() => rand() < 3 / Math.max(i, 1)),
};

function timeIt(fn) {
  const runs = [];
  let result;
  const deadline = performance.now() + 2000;
  do {
    const t0 = performance.now();
    result = fn();
    runs.push(performance.now() - t0);
  } while (runs.length < 5 || (runs.length < 50 && performance.now() < deadline));
  runs.sort((a, b) => a - b);
  return { result, ms: runs[Math.floor(runs.length / 2)], runs: runs.length };
}

const rows = [];
for (const [shape, deps] of Object.entries(shapes)) {
  for (const n of [10, 100, 1000]) {
    const { plan, pod, edges } = pipeline(n * 7 + shape.length, n, (i, names, rand) => deps(i, names, rand, n));
    const { result, ms, runs } = timeIt(() => R.planPeakRequests(pod, plan));
    const byRes = Object.fromEntries(result.explanation.resources.map((r) => [r.resource, r]));
    const row = { shape, tasks: n, edges, containers: pod.spec.containers.length, ms: Number(ms.toFixed(2)), runs };
    for (const r of ['cpu', 'memory']) {
      const e = byRes[r];
      const summed = R.parseQuantity(e.asWritten);
      const peak = R.parseQuantity(e.podRequest);
      row[r] = { summed: e.asWritten, peak: e.podRequest, ratio: Number((Number((summed * 1000n) / peak) / 1000).toFixed(2)), overlapping: e.overlapping.length };
    }
    rows.push(row);
  }
}

const header = ['shape', 'tasks', 'edges', 'cpu summed', 'cpu peak', 'ratio', 'mem summed', 'mem peak', 'ratio', 'overlap', 'ms (median)'];
const body = rows.map((r) => [r.shape, String(r.tasks), String(r.edges), r.cpu.summed, r.cpu.peak, `${r.cpu.ratio.toFixed(2)}x`, r.memory.summed, r.memory.peak, `${r.memory.ratio.toFixed(2)}x`, `${r.cpu.overlapping}/${r.memory.overlapping}`, `${r.ms} (${r.runs} runs)`]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
console.log(line(header));
for (const b of body) console.log(line(b));
console.log('\nsummed = what Kubernetes reserves for the Pod as built (sum of container requests); peak = pipod pod request;');
console.log('overlap = tasks running together at the cpu/memory peak; ms = planPeakRequests wall time (parse, peak per resource, rewrite).');

const outDir = join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'resources.json'), `${JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2)}\n`);
console.log(`\nwrote ${join('bench/results', 'resources.json')}`);
