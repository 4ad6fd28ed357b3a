/**
 * `supervise`: the one brain of a run. It schedules the DAG, then `finally`,
 * and reports events and the summary; the modules beside it hold the rules
 * (facts), the mailbox, deadlines and cancel, sidecars, task execution, the
 * run-time resolver and the summary. Wrappers only execute what it writes.
 */
import * as fs from 'node:fs';
import { PLAN_API_VERSION, type CancelMode, type ExecutionPlan, type Layout, type Resolver, type RunEvent } from '@pipod/plan';
import { readJson, systemTimers, touch, writeAtomic, writeJson, type Clock, type Timers, type Waiter } from '../io.ts';
import { createRunDirs } from '../init.ts';
import { whenHolds } from '../rules.ts';
import { UsageError } from '../errors.ts';
import { iso, type RunContext } from './context.ts';
import { Deadlines, requestCancel, watchCancel } from './deadlines.ts';
import { newRunFlags, newTaskRec, phaseDone, scopeFailedSkip, skipReason, skippedSteps, startable, type Phase, type RunFlags, type TaskRec } from './facts.ts';
import { Mailbox } from './mailbox.ts';
import { runtimeResolver } from './resolver.ts';
import { startSidecars, stopSidecars, watchSharedSidecars } from './sidecars.ts';
import { runSummary } from './summary.ts';
import { finishTask, markSkipped, releaseTask, runTask } from './tasks.ts';
import { readStepResult } from './taskfiles.ts';

/** What the supervisor needs from the outside world. */
export interface SupervisorDeps {
  readonly layout: Layout;
  readonly waiter: Waiter;
  readonly clock: Clock;
  /** Timers; Node's when absent (tests pass a fake clock's). */
  readonly timers?: Timers;
  /** Receives each event line (stdout in the pod). */
  readonly emit: (line: string) => void;
}

/** Reads and checks the plan written by init. */
export function loadPlan(layout: Layout): ExecutionPlan {
  let plan: ExecutionPlan | undefined;
  try {
    plan = readJson<ExecutionPlan>(layout.planFile);
  } catch (e) {
    throw new UsageError(`the plan at ${layout.planFile} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (plan === undefined) throw new UsageError(`no plan at ${layout.planFile} (did init run?)`);
  if (plan.apiVersion !== PLAN_API_VERSION || plan.kind !== 'ExecutionPlan') {
    throw new UsageError(`${layout.planFile} is not a ${PLAN_API_VERSION} ExecutionPlan`);
  }
  return plan;
}

/**
 * Milliseconds of the run's budgets spent before the supervisor started: from
 * the plan's `run.startTime` (absent, unparsable or in the future: none).
 */
export function runTimeSpent(startTime: string | undefined, supervisorStart: number): number {
  if (startTime === undefined) return 0;
  const t = Date.parse(startTime);
  return Number.isNaN(t) ? 0 : Math.max(0, supervisorStart - t);
}

/** Drives one run from plan to summary. */
export class Supervisor implements RunContext {
  readonly layout: Layout;
  readonly waiter: Waiter;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly mail: Mailbox;
  readonly recs = new Map<string, TaskRec>();
  readonly flags: RunFlags = newRunFlags();
  readonly runStop = new Set<() => void>();
  private readonly deadlines: Deadlines;
  private readonly startedAt: number;
  private wakeups: (() => void)[] = [];
  private eventsFd: number | undefined;

  constructor(readonly plan: ExecutionPlan, private readonly deps: SupervisorDeps) {
    this.layout = deps.layout;
    this.waiter = deps.waiter;
    this.clock = deps.clock;
    this.timers = deps.timers ?? systemTimers;
    this.mail = new Mailbox(this.layout, this.waiter, this.clock, this.timers, plan.settings);
    this.deadlines = new Deadlines(this);
    this.startedAt = deps.clock.now();
    for (const t of plan.tasks) this.recs.set(t.name, newTaskRec(t, 'dag'));
    for (const t of plan.finally) this.recs.set(t.name, newTaskRec(t, 'finally'));
  }

  /** Runs everything; resolves with the supervisor's exit code (0 exactly when Succeeded). */
  async run(): Promise<number> {
    const { layout, plan } = this;
    createRunDirs(layout, plan);
    touch(layout.heartbeat);
    const stopBeat = this.timers.every(Math.max(10, plan.settings.heartbeatMs), () => touch(layout.heartbeat));
    void watchCancel(this);
    this.emit({ type: 'run.started', time: iso(this.startedAt), pipeline: plan.run.pipelineName, tasks: plan.tasks.map((t) => t.name), finally: plan.finally.map((t) => t.name) });
    // Tekton counts the run's budgets from its start, so time the pod spent waiting to run (scheduling, image pulls, init) is spent already.
    this.deadlines.armRun(runTimeSpent(plan.run.startTime, this.startedAt));
    const shared = await startSidecars(this, plan.sidecars, {});
    let sidecarFailure = shared.failed;
    if (shared.failed !== undefined) {
      const why = scopeFailedSkip(this.flags);
      for (const r of this.recs.values()) markSkipped(this, r, why);
    } else {
      watchSharedSidecars(this, shared.started, (why) => { sidecarFailure ??= why; });
    }
    await this.runPhase('dag');
    this.flags.phase = 'finally';
    this.deadlines.armFinally();
    await this.runPhase('finally');
    this.flags.phase = 'over';
    await stopSidecars(this, shared.started);
    this.deadlines.clear();
    const summary = runSummary(plan, [...this.recs.values()], this.flags, { startedAt: this.startedAt, now: this.clock.now() }, sidecarFailure, this.resolver(undefined, 0));
    writeJson(layout.summaryFile, summary);
    this.emit({ type: 'run.finished', time: summary.finishedAt, summary });
    for (const t of [...plan.tasks, ...plan.finally]) releaseTask(this, t);
    for (const s of plan.sidecars) this.mail.release(s.container);
    writeAtomic(layout.exitFile, summary.status);
    stopBeat();
    if (this.eventsFd !== undefined) fs.closeSync(this.eventsFd);
    return summary.status === 'Succeeded' ? 0 : 1;
  }

  /** Cancels from outside the file protocol (SIGTERM on pod deletion behaves as an immediate cancel). */
  requestCancel(kind: CancelMode): void {
    requestCancel(this, kind);
  }

  /** Prints an event and appends it to the events file. */
  emit(e: RunEvent): void {
    const line = JSON.stringify(e);
    this.deps.emit(line);
    try {
      this.eventsFd ??= fs.openSync(this.layout.eventsFile, 'a');
      fs.writeSync(this.eventsFd, `${line}\n`);
    } catch {
      // The copy is a convenience; stdout is the stream of record.
    }
  }

  /** Wakes the scheduler loop. */
  notify(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  /** Run-time references as `rec` sees them now. */
  resolver(rec: TaskRec | undefined, attempt: number): Resolver {
    return runtimeResolver({ recs: this.recs, groups: this.plan.groups, readStepResult: (task, step, result) => readStepResult(this.layout, task, step, result) }, rec, attempt);
  }

  /** Starts (or skips) every task of `phase` whose dependencies are done, until all of them are. */
  private async runPhase(phase: Phase): Promise<void> {
    for (;;) {
      // Skipping one task may make others ready at once; loop until nothing more starts now.
      for (let ready = startable(this.recs, phase); ready.length > 0; ready = startable(this.recs, phase)) {
        for (const rec of ready) this.begin(rec);
      }
      if (phaseDone(this.recs, phase)) return;
      await new Promise<void>((r) => this.wakeups.push(r));
    }
  }

  private begin(rec: TaskRec): void {
    const skip = skipReason(rec, this.recs, this.flags, () => whenHolds(rec.task.when, this.resolver(rec, 0)));
    if (skip === 'InvalidTaskResultReference') {
      rec.steps = skippedSteps(rec.task);
      finishTask(this, rec, 'Failed', skip);
      return;
    }
    if (skip !== undefined) {
      markSkipped(this, rec, skip);
      return;
    }
    rec.state = 'running';
    void runTask(this, this.deadlines, rec).then(
      () => this.notify(),
      (e: unknown) => {
        finishTask(this, rec, 'Failed', `InternalError: ${e instanceof Error ? e.message : String(e)}`);
        this.notify();
      },
    );
  }
}
