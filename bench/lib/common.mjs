// Small helpers shared by the side-by-side benchmarks.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI bundle `npx pipod` runs (bin/pipod.mjs rebuilds it when sources are newer). */
export const PIPOD = join(ROOT, 'packages', 'cli', 'bin', 'pipod.mjs');

/** Median of numbers (undefined when empty). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds to two decimals for JSON and tables. */
export const r2 = (x) => (x === undefined || x === null || !Number.isFinite(x) ? x : Math.round(x * 100) / 100);

/** Machine facts recorded with every result (the 2 cores are shared, so the load matters). */
export function machine() {
  return { cpus: cpus().length, loadavg: loadavg().map(r2), node: process.version };
}

/** Writes bench/results/<name>.json. */
export function writeResult(name, data) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), ...data }, null, 2) + '\n');
  return file;
}

/** Runs a command, collecting stdout/stderr; resolves with code and wall time (never rejects). */
export function run(cmd, args, { env, timeoutMs = 30 * 60_000, input } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** `pipod run … -o json`: wall time as seen by the caller, and the parsed RunSummary. */
export async function pipodRun(file, extra = []) {
  const t0 = Date.now();
  const r = await run(process.execPath, [PIPOD, 'run', '-f', file, '-o', 'json', ...extra]);
  let summary;
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    summary = undefined;
  }
  if (r.code !== 0 || summary?.status !== 'Succeeded') {
    throw new Error(`pipod run ${file} ${extra.join(' ')} failed (exit ${r.code}, status ${summary?.status}): ${r.stderr.slice(-1500)}${summary ? '' : r.stdout.slice(-500)}`);
  }
  return { ms: r.ms, t0, summary };
}

/** Breakdown of a pipod RunSummary relative to the caller's start time t0 (epoch ms). */
export function pipodBreakdown(summary, t0, wallMs) {
  const steps = Object.values(summary.tasks).flatMap((t) => t.steps);
  const starts = steps.map((s) => Date.parse(s.startedAt ?? '')).filter(Number.isFinite);
  const useful = steps.reduce((a, s) => a + (s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : 0), 0);
  const supervisorStart = Date.parse(summary.startedAt);
  return {
    toSupervisorMs: supervisorStart - t0,
    toFirstStepMs: starts.length ? Math.min(...starts) - t0 : undefined,
    supervisedMs: summary.durationMs,
    afterRunMs: t0 + wallMs - Date.parse(summary.finishedAt),
    stepMsSum: useful,
  };
}

/** Formats rows as an aligned text table. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '-' : String(c))));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** Sleeps. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
