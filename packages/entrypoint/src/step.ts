/**
 * `step <container>`: the wrapper around one step container. It waits for
 * the supervisor's start file (inotify), runs the command, reports a
 * DoneMessage, and loops until it is released. It never decides anything.
 */
import * as fs from 'node:fs';
import { DEFAULT_SETTINGS, armedGoesOn, expandKubeVars, type ArmedAfter, type ContainerConfig, type DoneMessage, type Layout, type PlanSettings, type StartMessage, type StepEndReason } from '@pipod/plan';
import { ageMs, exists, mkdirp, readJson, touch, writeAtomic, writeJson, type Clock, type Waiter } from './io.ts';
import type { ProcessEnd, Runner, RunningProcess } from './runner.ts';
import { WrapperExit } from './errors.ts';

/** What a wrapper needs from the outside world. */
export interface WrapperDeps {
  readonly layout: Layout;
  readonly waiter: Waiter;
  readonly runner: Runner;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What init left in our inbox (the plan's runtime knobs; a sidecar's probes), or the defaults when it cannot be read. */
export function loadConfig(layout: Layout, container: string): ContainerConfig {
  try {
    return readJson<ContainerConfig>(layout.configFile(container)) ?? { settings: DEFAULT_SETTINGS };
  } catch {
    return { settings: DEFAULT_SETTINGS };
  }
}

/**
 * Keeps our beat file fresh and watches the supervisor's heartbeat; calls
 * `onStale` once when the supervisor has been silent for `staleMs` (counting
 * from our own start while it has not written one yet).
 */
export function startLiveness(deps: WrapperDeps, container: string, settings: PlanSettings, onStale: (why: string) => void): () => void {
  const { layout, clock } = deps;
  const started = clock.now();
  const beat = layout.beatFile(container);
  touch(beat);
  let fired = false;
  const timer = setInterval(() => {
    touch(beat);
    deps.waiter.recheckAll();
    if (fired) return;
    const now = clock.now();
    const age = ageMs(layout.heartbeat, now);
    const silent = age ?? now - started;
    if (silent > settings.staleMs) {
      fired = true;
      onStale(age === undefined ? `the supervisor never started (no heartbeat after ${settings.staleMs} ms)` : `the supervisor stopped (heartbeat ${Math.round(age)} ms old)`);
    }
  }, Math.max(10, settings.heartbeatMs));
  return () => clearInterval(timer);
}

const START_RE = /^start-(\d+)\.json$/;

/** The lowest start message at or after `seq`, when there is one. */
export function nextStart(dir: string, seq: number): number | undefined {
  let best: number | undefined;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    const m = START_RE.exec(n);
    if (m?.[1] === undefined) continue;
    const s = Number(m[1]);
    if (s >= seq && (best === undefined || s < best)) best = s;
  }
  return best;
}

/** What woke a waiting wrapper. */
export type Wake = { readonly kind: 'start'; readonly seq: number } | { readonly kind: 'release' } | { readonly kind: 'exit' };

/** Waits for the next start message, the release file or the run's exit file. */
export function waitForWork(deps: WrapperDeps, container: string, seq: number): Promise<Wake> {
  const { layout, waiter } = deps;
  const dir = layout.inboxDir(container);
  const release = layout.releaseFile(container);
  // Only our own inbox is watched: the run directory changes with every event and heartbeat and
  // would wake every waiting wrapper. The exit file is a fallback to `release`, seen on the liveness tick.
  return waiter.until<Wake>([dir], (n) => n === 'release' || n === 'exit' || START_RE.test(n), () => {
    if (exists(release)) return { kind: 'release' };
    if (exists(layout.exitFile)) return { kind: 'exit' };
    const s = nextStart(dir, seq);
    return s === undefined ? undefined : { kind: 'start', seq: s };
  });
}

/**
 * When an armed start may run: true once the step it waits for wrote a done
 * message that lets the task go on, false when that message stops the task
 * or, before any message, when the supervisor withdrew the start (its stop
 * file: that step died) or the run ended. A stop file that comes after a
 * go-ahead stops the started step as usual.
 */
export function armedGate(deps: WrapperDeps, container: string, seq: number, after: ArmedAfter): Promise<boolean> {
  const { layout, waiter } = deps;
  const doneName = `done-${after.seq}.json`;
  const doneFile = layout.doneFile(after.container, after.seq);
  const stop = stopSignal(layout, container, seq);
  return waiter.until([layout.outboxDir(after.container), layout.inboxDir(container)], (n) => n === doneName || stop.names(n), () => {
    const done = readJson<DoneMessage>(doneFile);
    if (done !== undefined) return armedGoesOn(after, done);
    return stop.present() ? false : undefined;
  });
}

/** What ends one of our steps before or while it runs: its stop file, our release file, the run's exit file. */
function stopSignal(layout: Layout, container: string, seq: number): { readonly names: (n: string) => boolean; readonly present: () => boolean } {
  const stopName = `stop-${seq}`;
  const stopFile = layout.stopFile(container, seq);
  const release = layout.releaseFile(container);
  return {
    names: (n) => n === stopName || n === 'release' || n === 'exit',
    present: () => exists(stopFile) || exists(release) || exists(layout.exitFile),
  };
}

/** Stops a process: SIGTERM, then SIGKILL after the grace period. */
export function stopProcess(proc: RunningProcess, graceMs: number): void {
  proc.signal('SIGTERM');
  setTimeout(() => proc.signal('SIGKILL'), graceMs).unref();
}

/**
 * The argv and environment a start message runs with: the container's
 * environment plus the message's run-time entries, and Kubernetes' `$(VAR)`
 * references expanded in both as the kubelet would have (it never sees the
 * step's real command, which lives in the plan).
 */
export function processFor(msg: Pick<StartMessage, 'argv' | 'env'>, base: Readonly<Record<string, string | undefined>>): { argv: readonly string[]; env: Readonly<Record<string, string>> } {
  const container = (n: string): string | undefined => base[n];
  const added = Object.entries(msg.env);
  // Copying the environment costs most of a millisecond on the handoff path; skip it when nothing is added.
  let env = base as Readonly<Record<string, string>>;
  if (added.length > 0) {
    const merged: Record<string, string | undefined> = { ...base };
    for (const [k, v] of added) merged[k] = expandKubeVars(v, container);
    env = merged as Record<string, string>;
  }
  const argv = msg.argv.map((a) => expandKubeVars(a, (n) => env[n]));
  return { argv, env };
}

/** Tekton's default interpreter for a script without a shebang. */
export const DEFAULT_SHEBANG = '#!/bin/sh\nset -e\n';

/** Set once the wrapper itself got SIGTERM while a step ran: it exits after reporting. */
let terminated = false;

/** How `runOnce` runs a message. */
export interface RunOptions {
  /** Output only to the pipe, not to our stdout or the log (the warm-up). */
  readonly quiet?: boolean;
  /**
   * Awaited after the step is prepared and before it starts: `false` drops
   * the message without starting or reporting anything (an armed start).
   */
  readonly gate?: Promise<boolean>;
  /** Resolves when the wrapper gives up (its supervisor is gone): the step is stopped, an armed start dropped. */
  readonly abort?: Promise<void>;
}

/**
 * Runs one StartMessage and reports its DoneMessage, obeying the stop file,
 * the step timeout and the run's end; undefined when the gate dropped it.
 */
export async function runOnce(deps: WrapperDeps, container: string, msg: StartMessage, opts: RunOptions = {}): Promise<DoneMessage | undefined> {
  const { layout, runner, clock, waiter } = deps;
  let prepError: string | undefined;
  try {
    if (msg.exitCodeFile !== undefined) fs.rmSync(msg.exitCodeFile, { force: true });
    if (msg.workingDir !== undefined && msg.workingDir !== '') mkdirp(msg.workingDir);
    if (msg.script !== undefined && msg.scriptFile !== undefined) writeAtomic(msg.scriptFile, msg.script, 0o755);
  } catch (e) {
    prepError = `cannot prepare the step: ${e instanceof Error ? e.message : String(e)}`;
  }
  const { argv, env } = processFor(msg, deps.env);
  if (opts.gate !== undefined && !(await (opts.abort === undefined ? opts.gate : Promise.race([opts.gate, opts.abort.then(() => false)])))) return undefined;
  const startedAt = new Date(clock.now()).toISOString();
  if (prepError !== undefined) {
    const done: DoneMessage = { seq: msg.seq, exitCode: 127, reason: 'StartFailed', message: prepError, startedAt, finishedAt: new Date(clock.now()).toISOString() };
    report(layout, container, msg, done);
    return done;
  }
  const proc = runner.start({ argv, env, cwd: msg.workingDir || undefined, ...(opts.quiet === true ? { quiet: true } : { logFile: layout.logFile(container) }) });
  // The kubelet signals only our process; pass a pod shutdown on to the step's process group.
  const onTerm = (): void => {
    terminated = true;
    stop('Stopped');
  };
  process.on('SIGTERM', onTerm);
  let stopped: 'TimedOut' | 'Stopped' | undefined;
  const stop = (why: 'TimedOut' | 'Stopped'): void => {
    if (stopped !== undefined) return;
    stopped = why;
    stopProcess(proc, msg.graceMs);
  };
  const timer = msg.timeoutMs !== undefined && msg.timeoutMs > 0 ? setTimeout(() => stop('TimedOut'), msg.timeoutMs) : undefined;
  let ended = false;
  const stopper = stopSignal(layout, container, msg.seq);
  void waiter.until([layout.inboxDir(container)], stopper.names, () => (ended ? false : stopper.present() ? true : undefined)).then((hit) => {
    if (hit) stop('Stopped');
  });
  void opts.abort?.then(() => {
    if (!ended) stop('Stopped');
  });
  const end: ProcessEnd = await proc.ended;
  process.off('SIGTERM', onTerm);
  ended = true;
  if (timer !== undefined) clearTimeout(timer);
  const finishedAt = new Date(clock.now()).toISOString();
  let done: DoneMessage;
  if (end.kind === 'startFailed') {
    done = { seq: msg.seq, exitCode: 127, reason: 'StartFailed', message: end.message, startedAt, finishedAt };
  } else {
    const reason: StepEndReason = stopped ?? (end.exitCode === 0 ? 'Completed' : 'Failed');
    const message = stopped === 'TimedOut' ? `step timed out after ${msg.timeoutMs} ms` : stopped === 'Stopped' ? 'step stopped by the supervisor' : undefined;
    done = { seq: msg.seq, exitCode: end.exitCode, ...(end.signal !== undefined ? { signal: end.signal } : {}), reason, ...(message !== undefined ? { message } : {}), startedAt, finishedAt };
  }
  report(layout, container, msg, done);
  // Off the handoff path: the next step may already be starting.
  proc.reapLeftovers();
  return done;
}

/** Writes the exit-code file, then the done message the supervisor waits for. */
function report(layout: Layout, container: string, msg: StartMessage, done: DoneMessage): void {
  if (msg.exitCodeFile !== undefined) {
    try {
      writeAtomic(msg.exitCodeFile, String(done.exitCode));
    } catch {
      // The supervisor writes it too; the done message is what counts.
    }
  }
  writeJson(layout.doneFile(container, msg.seq), done);
}

/**
 * Runs the whole handoff path once, on our own Node printing its version, while
 * nothing waits: each wrapper takes that path only a few times, and compiling
 * it on the first real step cost the handoff about a millisecond.
 */
async function warmUp(deps: WrapperDeps, container: string): Promise<void> {
  const exitCodeFile = deps.layout.warmUpExitCodeFile(container);
  try {
    const msg: StartMessage = { seq: 0, task: '', attempt: 0, argv: [process.execPath, '--version'], env: { PIPOD_WARM_UP: '$(PIPOD_WARM_UP)' }, graceMs: 0, exitCodeFile };
    await runOnce(deps, container, msg, { quiet: true, gate: Promise.resolve(true) });
    fs.rmSync(deps.layout.doneFile(container, 0), { force: true });
    fs.rmSync(exitCodeFile, { force: true });
  } catch {
    // Only an optimisation; a leftover done-0.json is never waited for (sequence numbers start at 1).
  }
}

/** The `step` mode loop. Resolves with the process exit code. */
export async function stepMode(deps: WrapperDeps, container: string): Promise<number> {
  const { layout } = deps;
  const dir = layout.inboxDir(container);
  const { settings } = loadConfig(layout, container);
  let staleWhy: string | undefined;
  let wakeStale: (() => void) | undefined;
  const stopLiveness = startLiveness(deps, container, settings, (why) => {
    staleWhy = why;
    wakeStale?.();
  });
  const stale = new Promise<'stale'>((r) => {
    wakeStale = () => r('stale');
  });
  // Our inbox is read-only: when the supervisor is gone we stop our own step, not through a stop file.
  const abort = stale.then(() => undefined);
  try {
    if (nextStart(dir, 1) === undefined) await warmUp(deps, container);
    let seq = 1;
    for (;;) {
      const wake = await Promise.race([waitForWork(deps, container, seq), stale]);
      if (wake === 'stale') throw new WrapperExit(`${container}: ${staleWhy ?? 'supervisor gone'}; giving up`, 3);
      if (wake.kind !== 'start') return 0;
      const msg = readJson<StartMessage>(layout.startFile(container, wake.seq));
      if (msg === undefined) throw new WrapperExit(`${container}: start message ${wake.seq} vanished`, 3);
      const run = runOnce(deps, container, msg, msg.after === undefined ? { abort } : { abort, gate: armedGate(deps, container, msg.seq, msg.after) });
      const outcome = await Promise.race([run, stale]);
      if (outcome === 'stale') {
        // The supervisor is gone: our process is being stopped (abort) so the pod can end; then leave.
        await run;
        throw new WrapperExit(`${container}: ${staleWhy ?? 'supervisor gone'}; stopped the step and giving up`, 3);
      }
      if (terminated) throw new WrapperExit(`${container}: terminated; stopped the step`, 143);
      seq = wake.seq + 1;
    }
  } finally {
    stopLiveness();
  }
}
