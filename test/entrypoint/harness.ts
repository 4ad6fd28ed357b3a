/**
 * Runs the real entrypoint bundle as real processes against a temp root:
 * init, one supervisor, one wrapper per step/sidecar container. Plans are
 * written by hand with the small makers below.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  Layout,
  PLAN_API_VERSION,
  PLAN_SCHEMA_VERSION,
  type ExecutionPlan,
  type PlanPipelineResult,
  type PlanProbe,
  type PlanResultDecl,
  type PlanSidecar,
  type PlanStep,
  type PlanTask,
  type PlanTimeouts,
  type PlanWhen,
  type ParamValue,
  type RunEvent,
  type RunSummary,
} from '@pipod/plan';

const repo = join(import.meta.dirname, '..', '..');

let bundlePath: string | undefined;

/** Builds the bundle with scripts/build.mjs and keeps a private copy (other test files may rebuild concurrently). */
export async function buildBundle(): Promise<string> {
  if (bundlePath !== undefined) return bundlePath;
  const mod = (await import(pathToFileURL(join(repo, 'scripts', 'build.mjs')).href)) as { buildAll: () => Promise<void> };
  await mod.buildAll();
  const dir = fs.mkdtempSync(join(tmpdir(), 'pipod-bundle-'));
  const copy = join(dir, 'entrypoint.js');
  for (let i = 0; i < 20; i++) {
    fs.copyFileSync(join(repo, 'packages/entrypoint/dist/entrypoint.js'), copy);
    if (spawnSync(process.execPath, ['--check', copy]).status === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  bundlePath = copy;
  return copy;
}

/** A step written by hand: a script (run by /bin/sh) or a command. */
export interface StepSpec {
  readonly name: string;
  readonly script?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly onError?: 'continue' | 'stopAndFail';
  readonly timeoutMs?: number;
  readonly workingDir?: string;
  readonly results?: readonly PlanResultDecl[];
}

/** A task written by hand. */
export interface TaskSpec {
  readonly name: string;
  readonly steps: readonly StepSpec[];
  readonly dependsOn?: readonly string[];
  readonly when?: readonly PlanWhen[];
  readonly retries?: number;
  readonly timeoutMs?: number;
  readonly onError?: 'continue' | 'stopAndFail';
  readonly results?: readonly PlanResultDecl[];
  readonly params?: Readonly<Record<string, ParamValue>>;
  readonly sidecars?: readonly PlanSidecar[];
}

/** Container name of a step in these tests. */
export const containerOf = (task: string, step: string): string => `${task}-${step}`;

function makeTask(t: TaskSpec): PlanTask {
  return {
    name: t.name,
    id: t.name,
    dependsOn: t.dependsOn ?? [],
    when: t.when ?? [],
    retries: t.retries ?? 0,
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    onError: t.onError ?? 'stopAndFail',
    params: t.params ?? {},
    results: t.results ?? [],
    steps: t.steps.map(
      (s): PlanStep => ({
        name: s.name,
        container: containerOf(t.name, s.name),
        image: 'busybox',
        command: s.command ?? [],
        args: s.args ?? [],
        ...(s.script !== undefined ? { script: s.script } : {}),
        env: Object.entries(s.env ?? {}).map(([name, value]) => ({ name, value })),
        ...(s.workingDir !== undefined ? { workingDir: s.workingDir } : {}),
        onError: s.onError ?? 'stopAndFail',
        ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
        results: s.results ?? [],
      }),
    ),
    sidecars: t.sidecars ?? [],
  };
}

/** A sidecar written by hand. */
export function sidecar(name: string, container: string, command: readonly string[], probes: { readinessProbe?: PlanProbe; startupProbe?: PlanProbe } = {}): PlanSidecar {
  return { name, container, image: 'busybox', command, args: [], env: [], terminationGraceMs: 300, ...probes };
}

/** A whole plan with fast test settings. */
export function makePlan(p: { tasks: readonly TaskSpec[]; finally?: readonly TaskSpec[]; timeouts?: PlanTimeouts; results?: readonly PlanPipelineResult[]; sidecars?: readonly PlanSidecar[]; staleMs?: number; startupMs?: number; armNextStep?: boolean }): ExecutionPlan {
  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'ExecutionPlan',
    schemaVersion: PLAN_SCHEMA_VERSION,
    run: { pipelineRunName: 'test-run', namespace: 'default', uid: 'uid-1', pipelineName: 'test' },
    timeouts: p.timeouts ?? {},
    params: {},
    tasks: p.tasks.map(makeTask),
    finally: (p.finally ?? []).map(makeTask),
    results: p.results ?? [],
    sidecars: p.sidecars ?? [],
    settings: { stepGraceMs: 300, heartbeatMs: 50, staleMs: p.staleMs ?? 10_000, ...(p.startupMs !== undefined ? { startupMs: p.startupMs } : {}), ...(p.armNextStep !== undefined ? { armNextStep: p.armNextStep } : {}) },
  };
}

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A started process and its end. */
export interface Proc {
  readonly child: ChildProcess;
  readonly exit: Promise<Exit>;
}

/** Runs the bundle with a mode. */
export function runBundle(bundle: string, args: readonly string[], env: Readonly<Record<string, string>>): Proc {
  const child = spawn(process.execPath, [bundle, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exit };
}

/** Environment that carries a plan to init, as the builder would encode it. */
export function planEnv(plan: ExecutionPlan, chunk = 100 * 1024): Record<string, string> {
  const enc = gzipSync(Buffer.from(JSON.stringify(plan))).toString('base64');
  const env: Record<string, string> = {};
  for (let i = 0, n = 0; i < enc.length; i += chunk, n++) env[`PIPOD_PLAN_${n}`] = enc.slice(i, i + chunk);
  return env;
}

/** A running test pod. */
export interface TestRun {
  readonly root: string;
  readonly layout: Layout;
  readonly supervisor: Proc;
  readonly wrappers: ReadonlyMap<string, Proc>;
  /** Waits for the supervisor and every wrapper. */
  finished(): Promise<{ supervisor: Exit; wrappers: Map<string, Exit>; events: RunEvent[]; summary: RunSummary }>;
}

/** Every step and sidecar container of a plan, with its mode. */
export function containers(plan: ExecutionPlan): [string, 'step' | 'sidecar'][] {
  const out: [string, 'step' | 'sidecar'][] = [];
  for (const t of [...plan.tasks, ...plan.finally]) {
    for (const s of t.steps) out.push([s.container, 'step']);
    for (const s of t.sidecars) out.push([s.container, 'sidecar']);
  }
  for (const s of plan.sidecars) out.push([s.container, 'sidecar']);
  return out;
}

/** Runs init (real process), then the supervisor and one wrapper per container. */
export async function startRun(plan: ExecutionPlan, opts: { skipWrappers?: readonly string[] } = {}): Promise<TestRun> {
  const bundle = await buildBundle();
  const root = fs.mkdtempSync(join(tmpdir(), 'pipod-run-'));
  const runtime = join(root, '..', `${root.split('/').pop() ?? 'x'}-runtime`);
  fs.mkdirSync(join(runtime, 'lib'), { recursive: true });
  fs.copyFileSync(bundle, join(runtime, 'entrypoint.js'));
  fs.writeFileSync(join(runtime, 'node'), '#!/bin/sh\n', { mode: 0o755 });
  const env = { PIPOD_ROOT: root, PIPOD_RUNTIME_DIR: runtime };
  const init = await runBundle(bundle, ['init'], { ...env, ...planEnv(plan) }).exit;
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const wrappers = new Map<string, Proc>();
  for (const [c, mode] of containers(plan)) {
    if (opts.skipWrappers?.includes(c)) continue;
    wrappers.set(c, runBundle(bundle, [mode, c], env));
  }
  const supervisor = runBundle(bundle, ['supervise'], env);
  const layout = new Layout(root);
  return {
    root,
    layout,
    supervisor,
    wrappers,
    async finished() {
      const sup = await supervisor.exit;
      const ws = new Map<string, Exit>();
      for (const [c, p] of wrappers) ws.set(c, await p.exit);
      const events = sup.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RunEvent);
      const summary = JSON.parse(fs.readFileSync(layout.summaryFile, 'utf8')) as RunSummary;
      return { supervisor: sup, wrappers: ws, events, summary };
    },
  };
}

/** Runs a plan to the end. */
export async function runPlan(plan: ExecutionPlan): Promise<Awaited<ReturnType<TestRun['finished']>> & { run: TestRun }> {
  const r = await startRun(plan);
  return { ...(await r.finished()), run: r };
}

/** Waits until a file exists (test side; polling is fine here). */
export async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Events of one type. */
export function eventsOf<T extends RunEvent['type']>(events: readonly RunEvent[], type: T): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}
