/**
 * The run-handle skeleton every runtime shares: prepare, create and start the
 * pod, follow the supervisor's events and the step logs, cancel with the one
 * escalation, watch the time budget, decide the summary, clean up. What
 * differs per engine (podman, Kubernetes) sits behind `RunDriver`.
 */
import { SUPERVISOR_CONTAINER, type CancelMode, type ExecutionPlan, type RunEvent, type RunStatus, type RunSummary } from '@pipod/plan';
import { Escalation, FORCE_AFTER_MS, type CancelLevel, type ForceReason } from './cancel.ts';
import { SupervisorStream, startWatchdog } from './events.ts';
import { syntheticSummary } from './synthetic.ts';
import type { LogLine, RunHandle, RunObserver, RunPhase, RunRequest } from './types.ts';
import { OrderedOutput } from '../output/ordered.ts';

/** How long step logs may keep draining after the supervisor is done. */
const LOG_DRAIN_MS = 5000;
/** How long to wait for the supervisor's own exit once its summary arrived. */
const FINISH_GRACE_MS = 2000;
/** Lines of non-event supervisor output kept for a failure reason. */
const TAIL_LINES = 20;

/** How a driver's pod start ended. */
export type StartOutcome = 'started' | 'cancelled' | 'timedout';

/** A verdict when the supervisor gave no summary. */
export interface Verdict {
  readonly status: RunStatus;
  readonly reason: string;
}

/**
 * One engine's side of a run. The skeleton calls these in order: `prepare`,
 * `create`, `waitStarted`, then `followSupervisor` (and `followSteps` when
 * logs are asked for) while `deliverCancel` and `kill` may come at any time,
 * `savedSummary` / `noSummary` when the stream ended without a summary, and
 * `cleanup` last, always. A run store or an output renderer plugs in as the
 * `RunObserver`, not here: the driver only talks to its engine.
 */
export interface RunDriver {
  /** The pod's name, fixed before anything runs. */
  readonly podName: string;
  /** How notes name the pod (`name`, or `namespace/name`). */
  readonly podRef: string;
  /** What a force kill does to the pod (podman removes it, Kubernetes deletes it). */
  readonly removal: 'remove' | 'delete';
  /** Work before the pod exists (orphans, images); throws a PipodError when the run cannot go on. */
  prepare(): Promise<void>;
  /** Creates the pod; once called, `kill` and `cleanup` must treat the pod as possibly there. */
  create(): Promise<void>;
  /** Waits until the supervisor runs; `cancelled` / `timedout` when it never will in time. */
  waitStarted(cancel: () => CancelLevel): Promise<StartOutcome>;
  /** Asks the running supervisor for a cancel mode (the cancel file); reports its own failures as notes. */
  deliverCancel(mode: CancelMode): Promise<void>;
  /** Follows the supervisor container's output until it ends, feeding every line to `stream`. */
  followSupervisor(stream: SupervisorStream): Promise<void>;
  /** Follows every step and sidecar container's output; resolves when they all ended. */
  followSteps(onLog: (line: LogLine) => void): Promise<void>;
  /**
   * Every step and sidecar container's whole output so far, oldest first per
   * container and stream, read once after the run (a follower on a loaded
   * host can lag or miss the end); engines that cannot, leave it out.
   */
  completeStepLogs?(): Promise<readonly LogLine[]>;
  /** Lines a step or sidecar container has written so far (all streams), counted without following it, when the engine can. */
  outputWritten?(container: string): number | undefined;
  /** One container's whole output so far, oldest first per stream. */
  containerLogs?(container: string): Promise<readonly LogLine[]>;
  /** Why each step last ended, by container, when the engine can read it before cleanup. */
  stepMessages?(): Readonly<Record<string, string>>;
  /** The summary the supervisor left on the run volume, when the driver can read it. */
  savedSummary(): RunSummary | undefined;
  /** Why the supervisor ended without a summary (`tail`: its last non-event lines). */
  noSummary(tail: readonly string[]): Promise<Verdict>;
  /** Removes the pod at once, when it was created. */
  kill(): Promise<void>;
  /** Stops the followers, then removes the pod and the run's files unless `keep`. */
  cleanup(keep: boolean): Promise<void>;
}

/** Settings of the skeleton. */
export interface RunOptions {
  /** How long an immediate cancel may take before the pod is killed by force (`FORCE_AFTER_MS`). */
  readonly forceAfterMs?: number;
}

const ing = (verb: string): string => `${verb.slice(0, -1)}ing`;

/** Starts a run on a driver; the handle's `result` settles after cleanup. */
export function startRun(driver: RunDriver, req: RunRequest, obs: RunObserver, opts: RunOptions = {}): RunHandle {
  const note = (m: string): void => obs.onNote?.(m);
  const phase = (p: RunPhase): void => obs.onPhase?.(p);
  const removed = `${driver.removal}d`;
  let running = false;
  let forced: ((reason: ForceReason) => void) | undefined;
  const forcedP = new Promise<ForceReason>((resolve) => { forced = resolve; });
  const kill = async (reason: ForceReason): Promise<void> => {
    forced?.(reason);
    await driver.kill();
  };

  const forceAfterMs = opts.forceAfterMs ?? FORCE_AFTER_MS;
  const escalation = new Escalation({
    deliver: async (mode) => {
      note(mode === 'stop' ? 'stopping (running tasks finish, finally tasks still run); Ctrl-C again to cancel'
        : mode === 'graceful' ? 'cancelling (finally tasks still run); Ctrl-C again to stop at once'
          : `cancelling immediately; Ctrl-C again to ${driver.removal} the pod by force`);
      // Before the supervisor runs there is no one to tell; the pending level is delivered once it does.
      if (running) await driver.deliverCancel(mode);
    },
    force: async (reason) => {
      note(reason === 'requested' ? `${ing(driver.removal)} the pod by force`
        : `the immediate cancel did not end the run within ${Math.round(forceAfterMs / 1000)}s; ${ing(driver.removal)} the pod by force`);
      await kill(reason);
    },
  }, forceAfterMs);
  const cancel = (mode: CancelMode): Promise<void> => escalation.request(mode);

  const run = async (): Promise<RunSummary> => {
    const startedAt = new Date();
    // What the supervisor reported before it was gone: a summary made without it keeps every task's outcome so far.
    const seen: RunEvent[] = [];
    const synthetic = (status: RunStatus, reason: string): RunSummary => syntheticSummary(status, reason, startedAt, new Date(), req.plan, seen);
    phase('preparing');
    await driver.prepare();
    if (escalation.level !== 'none') return synthetic('Cancelled', 'Cancelled before the pod started');
    phase('creating');
    await driver.create();
    phase('starting');
    const start = await driver.waitStarted(() => escalation.level);
    if (start !== 'started') {
      await kill('requested');
      return start === 'cancelled' ? synthetic('Cancelled', 'Cancelled before the pod started') : synthetic('TimedOut', 'PipelineRunTimeout');
    }
    running = true;
    phase('running');
    note(`pod ${driver.podRef} started`);
    const pending = escalation.level;
    if (pending !== 'none' && pending !== 'force') await driver.deliverCancel(pending);

    // A step's end is handed on after its output (the follower lags; see OrderedOutput).
    const source = driver.outputWritten !== undefined && driver.containerLogs !== undefined
      ? { written: (c: string) => driver.outputWritten?.(c), read: (c: string) => driver.containerLogs?.(c) ?? Promise.resolve([]) }
      : undefined;
    const stepContainers = new Set([...req.plan.tasks, ...req.plan.finally].flatMap((t) => t.steps.map((s) => s.container)));
    const ordered = new OrderedOutput({ onEvent: (e) => obs.onEvent?.(e), onLog: (l) => obs.onLog?.(l) }, req.logs ? source : undefined, undefined, stepContainers);
    const onStepLog = (l: LogLine): void => ordered.log(l);
    const steps = req.logs ? driver.followSteps(onStepLog) : Promise.resolve();
    const tail: string[] = [];
    let finished: (() => void) | undefined;
    const finishedP = new Promise<void>((resolve) => { finished = resolve; });
    const stream = new SupervisorStream({
      onEvent: (e) => {
        seen.push(e);
        // The verdict is in; do not wait long for the supervisor's own exit before cleaning up.
        if (e.type === 'run.finished') setTimeout(() => finished?.(), FINISH_GRACE_MS).unref();
        ordered.event(e);
      },
      onOther: (line) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        if (req.logs) obs.onLog?.({ container: SUPERVISOR_CONTAINER, stream: 'stderr', text: line });
      },
    });
    const follow = driver.followSupervisor(stream);
    const watchdog = startWatchdog(req.watchdogMs, () => {
      note('the run exceeded its time budget; cancelling immediately');
      void cancel('immediate');
    });
    const forcedReason = await Promise.race([follow.then(() => undefined), finishedP.then(() => undefined), forcedP]);
    watchdog.stop();
    // Let the log followers drain: step containers exit on their own once the supervisor is done.
    await Promise.race([steps, new Promise((r) => setTimeout(r, LOG_DRAIN_MS).unref())]);
    await ordered.idle();
    if (req.logs && driver.completeStepLogs !== undefined && forcedReason === undefined) ordered.complete(await driver.completeStepLogs().catch(() => []));
    ordered.close();
    const messages = driver.stepMessages?.();
    if (messages !== undefined) obs.onStepMessages?.(messages);

    const summary = stream.summary ?? (forcedReason === undefined ? driver.savedSummary() : undefined);
    if (summary !== undefined) return summary;
    if (forcedReason !== undefined) {
      return watchdog.fired ? synthetic('TimedOut', `the run did not stop within its time budget; the pod was ${removed}`) : synthetic('Cancelled', `the pod was ${removed} by force`);
    }
    const verdict = await driver.noSummary(tail);
    return synthetic(verdict.status, verdict.reason);
  };

  const result = (async () => {
    try {
      return await run();
    } finally {
      escalation.dispose();
      phase('cleaning');
      await driver.cleanup(req.keep === true);
    }
  })();
  return { podName: driver.podName, result, cancel };
}

/** Container name → the task and step (or sidecar) it runs, from the plan. */
export function containerOwners(plan: ExecutionPlan): Map<string, { task?: string; step: string }> {
  const m = new Map<string, { task?: string; step: string }>();
  for (const t of [...plan.tasks, ...plan.finally]) {
    for (const s of t.steps) m.set(s.container, { task: t.name, step: s.name });
    for (const s of t.sidecars) m.set(s.container, { task: t.name, step: s.name });
  }
  for (const s of plan.sidecars) m.set(s.container, { step: s.name });
  return m;
}
