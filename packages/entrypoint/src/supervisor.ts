/**
 * `supervise`: the one brain of a run. It schedules the DAG, evaluates
 * `when`, wires results, enforces timeouts, retries and cancel, drives every
 * step through its container's mailbox, runs `finally`, and reports events
 * and the summary. Wrappers only execute what it writes.
 */
import * as fs from 'node:fs';
import {
  type CancelMode,
  findRefs,
  stringify,
  substitute,
  substituteArgs,
  substituteValue,
  type DoneMessage,
  type ExecutionPlan,
  type Layout,
  type ParamValue,
  type PlanSidecar,
  type PlanStep,
  type PlanTask,
  type Resolver,
  type RunEvent,
  type RunStatus,
  type RunSummary,
  type StartMessage,
  type ArmedAfter,
  armedGoesOn,
  type StepSummary,
  type TaskStatus,
  type TaskSummary,
  PLAN_API_VERSION,
} from '@pipod/plan';
import { ageMs, mkdirp, readJson, readText, touch, writeAtomic, writeJson, type Clock, type Waiter } from './io.ts';
import { CANCEL_STRENGTH, aggregateStatus, cancelKind, consumedResults, groupStatusVar, parseResult, taskStatusVar, whenHolds, type SkipReason } from './rules.ts';
import { DEFAULT_SHEBANG } from './step.ts';
import { UsageError } from './errors.ts';

/** What the supervisor needs from the outside world. */
export interface SupervisorDeps {
  readonly layout: Layout;
  readonly waiter: Waiter;
  readonly clock: Clock;
  /** Receives each event line (stdout in the pod). */
  readonly emit: (line: string) => void;
}

/** Why a running task was stopped from outside its steps. */
type StopReason = 'TaskRunTimeout' | 'PipelineRunTimeout' | 'Cancelled' | 'SidecarFailed';

type Phase = 'dag' | 'finally';

interface TaskRec {
  readonly task: PlanTask;
  readonly phase: Phase;
  state: 'pending' | 'running' | 'done';
  status?: TaskStatus;
  reason: string;
  attempts: number;
  results: Record<string, ParamValue>;
  startedAt?: number;
  finishedAt?: number;
  steps: StepSummary[];
  stopReason?: StopReason;
  current?: { readonly container: string; readonly seq: number };
  /** The next step's start, written ahead in the current attempt. */
  armed?: Armed;
  readonly onStop: Set<() => void>;
}

interface SidecarRun {
  readonly sidecar: PlanSidecar;
  readonly seq: number;
  readonly task?: string;
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

const iso = (ms: number): string => new Date(ms).toISOString();

/** A next step's start written ahead, and the step it waits for. */
interface Armed {
  readonly container: string;
  readonly seq: number;
  readonly after: ArmedAfter;
}

/** A step-result reference once normalised (`steps.<s>.results.<r>`): step and result name. */
const STEP_RESULT_REF = /^steps\.(.+?)\.results\.(.+)$/;

/** Whether a step reads a step result anywhere: its value exists only once that step ended. */
function readsStepResult(step: PlanStep): boolean {
  const texts = [...step.command, ...step.args, ...step.env.map((e) => e.value), step.script ?? '', step.workingDir ?? ''];
  return texts.some((t) => findRefs(t).some((r) => STEP_RESULT_REF.test(r)));
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
export class Supervisor {
  private readonly recs = new Map<string, TaskRec>();
  private readonly seqs = new Map<string, number>();
  private readonly released = new Set<string>();
  /** `stop` (StoppedRunFinally) lets running tasks finish; `graceful` stops them; both run finally. */
  private cancel?: CancelMode;
  private pipelineTimedOut = false;
  private tasksTimedOut = false;
  private finallyTimedOut = false;
  private phase: Phase | 'over' = 'dag';
  private wakeups: (() => void)[] = [];
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private readonly startedAt: number;
  /** Waits that must end when the whole run stops (pipeline sidecars getting ready). */
  private readonly runStop = new Set<() => void>();
  private eventsFd: number | undefined;

  constructor(private readonly plan: ExecutionPlan, private readonly deps: SupervisorDeps) {
    this.startedAt = deps.clock.now();
    for (const t of plan.tasks) this.recs.set(t.name, this.newRec(t, 'dag'));
    for (const t of plan.finally) this.recs.set(t.name, this.newRec(t, 'finally'));
  }

  /** Runs everything; resolves with the supervisor's exit code (0 exactly when Succeeded). */
  async run(): Promise<number> {
    const { layout, clock } = this.deps;
    const { settings, timeouts } = this.plan;
    this.prepareDirs();
    touch(layout.heartbeat);
    const beat = setInterval(() => touch(layout.heartbeat), Math.max(10, settings.heartbeatMs));
    void this.watchCancel();
    this.emit({ type: 'run.started', time: iso(this.startedAt), pipeline: this.plan.run.pipelineName, tasks: this.plan.tasks.map((t) => t.name), finally: this.plan.finally.map((t) => t.name) });
    // Tekton counts the run's budgets from its start, so time the pod spent waiting to run (scheduling, image pulls, init) is spent already.
    const spent = runTimeSpent(this.plan.run.startTime, this.startedAt);
    const after = (ms: number, f: () => void): void => {
      if (ms - spent <= 0) f();
      else this.timers.push(setTimeout(f, ms - spent));
    };
    if (timeouts.pipelineMs !== undefined && timeouts.pipelineMs > 0) {
      after(timeouts.pipelineMs, () => {
        this.pipelineTimedOut = true;
        for (const f of this.runStop) f();
        for (const r of this.recs.values()) this.stopTask(r, 'PipelineRunTimeout');
        this.notify();
      });
    }
    if (timeouts.tasksMs !== undefined && timeouts.tasksMs > 0) {
      after(timeouts.tasksMs, () => {
        if (this.phase !== 'dag') return;
        this.tasksTimedOut = true;
        for (const r of this.recs.values()) if (r.phase === 'dag') this.stopTask(r, 'PipelineRunTimeout');
        this.notify();
      });
    }
    const pipelineSidecars = await this.startSidecars(this.plan.sidecars, undefined, undefined);
    if (pipelineSidecars.failed !== undefined) {
      const why: SkipReason = this.cancel === 'immediate' ? 'PipelineRunCancelled' : this.pipelineTimedOut ? 'PipelineTimedOutSkip' : this.cancel === 'graceful' ? 'GracefullyCancelledSkip' : this.cancel === 'stop' ? 'GracefullyStoppedSkip' : 'ParentTasksSkip';
      for (const r of this.recs.values()) this.markSkipped(r, why);
    }
    // A shared sidecar that ends mid-run fails the run; tasks using it fail on their own.
    let sharedFailure: string | undefined;
    if (pipelineSidecars.failed === undefined) {
      for (const run of pipelineSidecars.started) {
        const done = layout.doneFile(run.sidecar.container, run.seq);
        void this.deps.waiter.anyOf([done]).then(() => {
          if (this.phase === 'over' || sharedFailure !== undefined) return;
          const why = `${readJson<DoneMessage>(done)?.message ?? 'ended'} while the run went on`;
          sharedFailure = `sidecar ${run.sidecar.name}: ${why}`;
          this.emit({ type: 'sidecar.failed', time: iso(clock.now()), sidecar: run.sidecar.name, container: run.sidecar.container, reason: why });
        });
      }
    }
    await this.runPhase('dag');
    this.phase = 'finally';
    if (timeouts.finallyMs !== undefined && timeouts.finallyMs > 0 && this.plan.finally.length > 0) {
      this.timers.push(setTimeout(() => {
        this.finallyTimedOut = true;
        for (const r of this.recs.values()) if (r.phase === 'finally') this.stopTask(r, 'PipelineRunTimeout');
        this.notify();
      }, timeouts.finallyMs));
    }
    await this.runPhase('finally');
    this.phase = 'over';
    await this.stopSidecars(pipelineSidecars.started);
    for (const t of this.timers) clearTimeout(t);
    const summary = this.summary(clock.now(), pipelineSidecars.failed ?? sharedFailure);
    writeJson(layout.summaryFile, summary);
    this.emit({ type: 'run.finished', time: summary.finishedAt, summary });
    this.releaseAll();
    writeAtomic(layout.exitFile, summary.status);
    clearInterval(beat);
    if (this.eventsFd !== undefined) fs.closeSync(this.eventsFd);
    return summary.status === 'Succeeded' ? 0 : 1;
  }

  private newRec(task: PlanTask, phase: Phase): TaskRec {
    return { task, phase, state: 'pending', reason: '', attempts: 0, results: {}, steps: [], onStop: new Set() };
  }

  private allTasks(): PlanTask[] {
    return [...this.plan.tasks, ...this.plan.finally];
  }

  private prepareDirs(): void {
    const { layout } = this.deps;
    mkdirp(layout.runDir);
    mkdirp(`${layout.runDir}/logs`, 0o777);
    for (const t of this.allTasks()) {
      mkdirp(layout.taskResultsDir(t.id), 0o777);
      for (const s of t.steps) {
        mkdirp(layout.containerDir(s.container), 0o777);
        mkdirp(layout.stepResultsDir(t.id, s.name), 0o777);
      }
      for (const s of t.sidecars) mkdirp(layout.containerDir(s.container), 0o777);
    }
    for (const s of this.plan.sidecars) mkdirp(layout.containerDir(s.container), 0o777);
  }

  private emit(e: RunEvent): void {
    const line = JSON.stringify(e);
    this.deps.emit(line);
    try {
      this.eventsFd ??= fs.openSync(this.deps.layout.eventsFile, 'a');
      fs.writeSync(this.eventsFd, `${line}\n`);
    } catch {
      // The copy is a convenience; stdout is the stream of record.
    }
  }

  private notify(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  private nextChange(): Promise<void> {
    return new Promise((r) => this.wakeups.push(r));
  }

  private async watchCancel(): Promise<void> {
    const { layout, waiter } = this.deps;
    const read = (): CancelMode | undefined => {
      const t = readText(layout.cancelFile);
      return t === undefined ? undefined : cancelKind(t);
    };
    // A later, stronger request escalates: stop → graceful → immediate.
    let kind = await waiter.until([layout.runDir], (n) => n === 'cancel', read);
    while (!this.isOver()) {
      this.applyCancel(kind);
      if (kind === 'immediate') return;
      const current = kind;
      kind = await waiter.until([layout.runDir], (n) => n === 'cancel', () => {
        const k = read();
        return k !== undefined && CANCEL_STRENGTH[k] > CANCEL_STRENGTH[current] ? k : undefined;
      });
    }
  }

  private isOver(): boolean {
    return this.phase === 'over';
  }

  /** Cancels from outside the file protocol (SIGTERM on pod deletion behaves as an immediate cancel). */
  requestCancel(kind: CancelMode): void {
    if (!this.isOver() && (this.cancel === undefined || CANCEL_STRENGTH[kind] > CANCEL_STRENGTH[this.cancel])) this.applyCancel(kind);
  }

  private applyCancel(kind: CancelMode): void {
    this.cancel = kind;
    if (kind !== 'stop') {
      for (const f of this.runStop) f();
      for (const r of this.recs.values()) {
        if (kind === 'immediate' || r.phase === 'dag') this.stopTask(r, 'Cancelled');
      }
    }
    this.notify();
  }

  private stopTask(rec: TaskRec, why: StopReason): void {
    if (rec.state !== 'running' || rec.stopReason !== undefined) return;
    rec.stopReason = why;
    if (rec.current !== undefined) this.writeStop(rec.current.container, rec.current.seq, why);
    this.withdrawArmed(rec, why);
    for (const f of rec.onStop) f();
  }

  private writeStop(container: string, seq: number, why: string): void {
    try {
      writeAtomic(this.deps.layout.stopFile(container, seq), why);
    } catch {
      // The container directory vanished: the wrapper is gone and staleness detection ends the wait.
    }
  }

  private failedForStopping(r: TaskRec): boolean {
    return r.phase === 'dag' && r.state === 'done' && r.status !== 'Succeeded' && r.status !== 'Skipped' && r.task.onError !== 'continue';
  }

  private skipReason(rec: TaskRec): SkipReason | 'InvalidTaskResultReference' | undefined {
    if (this.cancel === 'immediate') return 'PipelineRunCancelled';
    if (this.pipelineTimedOut) return 'PipelineTimedOutSkip';
    // A child pipeline's finally task runs once the child's tasks settle, whatever their outcome.
    const settles = rec.task.finallyOf !== undefined;
    if (rec.phase === 'dag') {
      // A cancel or timeout also fails the tasks it stopped; name the cause, not the symptom.
      if (this.cancel === 'graceful') return 'GracefullyCancelledSkip';
      if (this.cancel === 'stop') return 'GracefullyStoppedSkip';
      if (this.tasksTimedOut) return 'TasksTimedOutSkip';
      if (!settles && [...this.recs.values()].some((r) => this.failedForStopping(r))) return 'StoppingSkip';
      for (const d of rec.task.dependsOn) {
        const p = this.recs.get(d);
        if (!settles && p?.status === 'Skipped' && p.reason !== 'WhenExpressionsSkip') return 'ParentTasksSkip';
      }
    } else if (this.finallyTimedOut) {
      return 'FinallyTimedOutSkip';
    }
    const names = new Set(this.recs.keys());
    for (const [t, r] of consumedResults(rec.task, names)) {
      const producer = this.recs.get(t);
      if (producer !== undefined && Object.prototype.hasOwnProperty.call(producer.results, r)) continue;
      // Tekton skips the consumer when the producer was skipped, may fail (onError: continue), or the
      // consumer is a finally task; a producer that succeeded without its result fails the run instead.
      if (rec.phase === 'dag' && !settles && producer?.status === 'Succeeded') return 'InvalidTaskResultReference';
      return 'MissingResultsSkip';
    }
    if (!whenHolds(rec.task.when, this.resolverFor(rec, 0))) return 'WhenExpressionsSkip';
    return undefined;
  }

  private async runPhase(phase: Phase): Promise<void> {
    const recs = [...this.recs.values()].filter((r) => r.phase === phase);
    for (;;) {
      let progressed = true;
      while (progressed) {
        progressed = false;
        for (const rec of recs) {
          if (rec.state !== 'pending') continue;
          const ready = rec.task.dependsOn.every((d) => {
            const p = this.recs.get(d);
            return p === undefined || p.state === 'done';
          });
          if (!ready) continue;
          progressed = true;
          const skip = this.skipReason(rec);
          if (skip === 'InvalidTaskResultReference') {
            rec.steps = rec.task.steps.map((s) => ({ name: s.name, container: s.container, status: 'Skipped' }));
            this.finishTask(rec, 'Failed', skip);
            continue;
          }
          if (skip !== undefined) {
            this.markSkipped(rec, skip);
            continue;
          }
          rec.state = 'running';
          void this.runTask(rec).then(
            () => this.notify(),
            (e: unknown) => {
              this.finishTask(rec, 'Failed', `InternalError: ${e instanceof Error ? e.message : String(e)}`);
              this.notify();
            },
          );
        }
      }
      if (recs.every((r) => r.state === 'done')) return;
      await this.nextChange();
    }
  }

  private markSkipped(rec: TaskRec, reason: SkipReason): void {
    if (rec.state === 'done') return;
    rec.state = 'done';
    rec.status = 'Skipped';
    rec.reason = reason;
    rec.steps = rec.task.steps.map((s) => ({ name: s.name, container: s.container, status: 'Skipped' }));
    this.emit({ type: 'task.skipped', time: iso(this.deps.clock.now()), task: rec.task.name, reason });
    this.releaseTask(rec.task);
  }

  private finishTask(rec: TaskRec, status: TaskStatus, reason: string): void {
    if (rec.state === 'done') return;
    const now = this.deps.clock.now();
    rec.state = 'done';
    rec.status = status;
    rec.reason = reason;
    rec.finishedAt = now;
    this.emit({ type: 'task.finished', time: iso(now), task: rec.task.name, status, reason, attempts: rec.attempts, durationMs: now - (rec.startedAt ?? now), results: rec.results });
    this.releaseTask(rec.task);
  }

  private release(container: string): void {
    if (this.released.has(container)) return;
    this.released.add(container);
    try {
      writeAtomic(this.deps.layout.releaseFile(container), '');
    } catch {
      // The exit file still ends a wrapper we could not reach.
    }
  }

  private releaseTask(task: PlanTask): void {
    for (const s of task.steps) this.release(s.container);
    for (const s of task.sidecars) this.release(s.container);
  }

  private releaseAll(): void {
    for (const t of this.allTasks()) this.releaseTask(t);
    for (const s of this.plan.sidecars) this.release(s.container);
  }

  private nextSeq(container: string): number {
    const n = (this.seqs.get(container) ?? 0) + 1;
    this.seqs.set(container, n);
    return n;
  }

  private async runTask(rec: TaskRec): Promise<void> {
    const { clock } = this.deps;
    const task = rec.task;
    rec.startedAt = clock.now();
    this.emit({ type: 'task.started', time: iso(rec.startedAt), task: task.name, attempt: 0 });
    const sidecars = await this.startSidecars(task.sidecars, task.name, rec);
    let status: TaskStatus = 'Failed';
    let reason = 'Failed';
    if (sidecars.failed !== undefined) {
      rec.attempts = 1;
      rec.steps = task.steps.map((s) => ({ name: s.name, container: s.container, status: 'Skipped' }));
      if (rec.stopReason !== undefined) [status, reason] = stopOutcome(rec.stopReason);
      else reason = 'SidecarFailed';
    } else {
      const watch = this.watchSidecars(rec, sidecars.started);
      try {
        [status, reason] = await this.runAttempts(rec);
      } finally {
        watch.stop();
      }
    }
    const read = this.readResults(task);
    rec.results = read.results;
    if (status === 'Succeeded' && read.error !== undefined) {
      status = 'Failed';
      reason = 'InvalidTaskResult';
    }
    await this.stopSidecars(sidecars.started);
    this.finishTask(rec, status, reason);
  }

  private async runAttempts(rec: TaskRec): Promise<[TaskStatus, string]> {
    const { clock } = this.deps;
    const task = rec.task;
    let status: TaskStatus = 'Failed';
    let reason = 'Failed';
    for (let attempt = 0; attempt <= task.retries; attempt++) {
      if (attempt > 0) {
        this.emit({ type: 'task.retrying', time: iso(clock.now()), task: task.name, attempt, reason });
        if (rec.stopReason === 'TaskRunTimeout') rec.stopReason = undefined;
      }
      rec.attempts = attempt + 1;
      this.clearAttempt(task);
      [status, reason] = await this.runAttempt(rec, attempt);
      if (status === 'Succeeded') break;
      if (rec.stopReason !== undefined && rec.stopReason !== 'TaskRunTimeout') break;
    }
    return [status, reason];
  }

  /**
   * A task's sidecar that ends while the task runs fails the task
   * (`SidecarFailed`): its steps rely on it. Ends after `stop()` are the
   * scope ending and are ignored.
   */
  private watchSidecars(rec: TaskRec, runs: readonly SidecarRun[]): { stop(): void } {
    const { layout, waiter, clock } = this.deps;
    let stopped = false;
    if (runs.length === 0) return { stop: () => undefined };
    const byDone = new Map(runs.map((r) => [layout.doneFile(r.sidecar.container, r.seq), r] as const));
    void waiter.anyOf([...byDone.keys()]).then((hit) => {
      if (stopped || rec.state !== 'running' || rec.stopReason !== undefined) return;
      const run = byDone.get(hit);
      if (run === undefined) return;
      const why = readJson<DoneMessage>(hit)?.message ?? 'ended';
      this.emit({ type: 'sidecar.failed', time: iso(clock.now()), task: rec.task.name, sidecar: run.sidecar.name, container: run.sidecar.container, reason: `${why} while the task ran` });
      this.stopTask(rec, 'SidecarFailed');
    });
    return { stop: () => { stopped = true; } };
  }

  private clearAttempt(task: PlanTask): void {
    const { layout } = this.deps;
    const clear = (dir: string): void => {
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        mkdirp(dir, 0o777);
      }
      // Keep the directory itself: it is the mount point of /tekton/results.
      for (const n of names) fs.rmSync(`${dir}/${n}`, { recursive: true, force: true });
    };
    clear(layout.taskResultsDir(task.id));
    for (const s of task.steps) {
      clear(layout.stepResultsDir(task.id, s.name));
      fs.rmSync(layout.stepExitCodeFile(task.id, s.name), { force: true });
    }
  }

  private readResults(task: PlanTask): { results: Record<string, ParamValue>; error?: string } {
    const dir = this.deps.layout.taskResultsDir(task.id);
    const results: Record<string, ParamValue> = {};
    let error: string | undefined;
    for (const decl of task.results) {
      const text = readText(`${dir}/${decl.name}`);
      if (text === undefined) continue;
      const parsed = parseResult(decl, text);
      if (parsed.ok) results[decl.name] = parsed.value;
      else error ??= parsed.message;
    }
    return error === undefined ? { results } : { results, error };
  }

  private readStepResult(task: PlanTask, step: string, result: string): ParamValue | undefined {
    const text = readText(`${this.deps.layout.stepResultsDir(task.id, step)}/${result}`);
    if (text === undefined) return undefined;
    const decl = task.steps.find((s) => s.name === step)?.results.find((r) => r.name === result);
    if (decl === undefined) return text;
    const parsed = parseResult(decl, text);
    return parsed.ok ? parsed.value : text;
  }

  /** Run-time references, resolved against what has happened so far. */
  private resolverFor(rec: TaskRec | undefined, attempt: number): Resolver {
    let depth = 0;
    const doneStatus = (r: TaskRec | undefined): TaskStatus | undefined => (r?.state === 'done' ? r.status : undefined);
    const self: Resolver = (ref) => {
      if (ref === 'tasks.status') {
        // A child pipeline's finally sees its own pipeline's tasks: the group minus the child's finally tasks.
        const child = rec?.task.finallyOf;
        const dag = child === undefined
          ? [...this.recs.values()].filter((r) => r.phase === 'dag')
          : (this.plan.groups?.[child] ?? []).flatMap((n) => { const r = this.recs.get(n); return r !== undefined && r.task.finallyOf !== child ? [r] : []; });
        return aggregateStatus(dag.map(doneStatus));
      }
      if (rec !== undefined && ref === 'context.task.retry-count') return String(attempt);
      if (rec !== undefined && ref === 'context.pipelineTask.retries') return String(rec.task.retries);
      let m = /^tasks\.(.+)\.status$/.exec(ref);
      if (m?.[1] !== undefined) {
        const r = this.recs.get(m[1]);
        if (r !== undefined) return taskStatusVar(doneStatus(r));
        const members = this.plan.groups?.[m[1]];
        return members === undefined ? undefined : groupStatusVar(members.map((n) => doneStatus(this.recs.get(n))));
      }
      m = /^tasks\.(.+)\.reason$/.exec(ref);
      if (m?.[1] !== undefined) {
        const r = this.recs.get(m[1]);
        if (r !== undefined) return r.state === 'done' ? r.reason : '';
        const members = this.plan.groups?.[m[1]];
        if (members === undefined) return undefined;
        // As Tekton: the reason of the first run that did not succeed, else of the first.
        const ran = members.map((n) => this.recs.get(n)).filter((x): x is TaskRec => x?.state === 'done' && x.status !== 'Skipped');
        return (ran.find((x) => x.status !== 'Succeeded') ?? ran[0])?.reason ?? '';
      }
      m = /^tasks\.(.+)\.results\.(.+)$/.exec(ref);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        const r = this.recs.get(m[1]);
        return r !== undefined && Object.prototype.hasOwnProperty.call(r.results, m[2]) ? r.results[m[2]] : undefined;
      }
      if (rec === undefined) return undefined;
      m = STEP_RESULT_REF.exec(ref);
      if (m?.[1] !== undefined && m[2] !== undefined) return this.readStepResult(rec.task, m[1], m[2]);
      m = /^params\.(.+)$/.exec(ref);
      if (m?.[1] !== undefined && Object.prototype.hasOwnProperty.call(rec.task.params, m[1])) {
        const v = rec.task.params[m[1]];
        if (v === undefined || depth > 8) return v;
        depth++;
        try {
          return substituteValue(v, self);
        } finally {
          depth--;
        }
      }
      return undefined;
    };
    return self;
  }

  private buildStart(rec: TaskRec, step: PlanStep, attempt: number, seq: number): StartMessage {
    const { layout } = this.deps;
    const r = this.resolverFor(rec, attempt);
    const tail = substituteArgs([...step.command, ...step.args], r);
    const env: Record<string, string> = {};
    for (const e of step.env) env[e.name] = substitute(e.value, r);
    const base = {
      seq,
      task: rec.task.name,
      attempt,
      env,
      graceMs: this.plan.settings.stepGraceMs,
      exitCodeFile: layout.stepExitCodeFile(rec.task.id, step.name),
      ...(step.workingDir !== undefined && step.workingDir !== '' ? { workingDir: substitute(step.workingDir, r) } : {}),
      ...(step.timeoutMs !== undefined && step.timeoutMs > 0 ? { timeoutMs: step.timeoutMs } : {}),
    };
    if (step.script === undefined) return { ...base, argv: tail };
    let script = substitute(step.script, r);
    if (!script.startsWith('#!')) script = DEFAULT_SHEBANG + script;
    const scriptFile = `${layout.containerDir(step.container)}/script-${seq}`;
    return { ...base, argv: [scriptFile, ...tail], script, scriptFile };
  }

  /**
   * Writes the start of the step after step `i` while step `i` runs, so its
   * wrapper starts it the moment step `i` ends and the handoff skips the
   * supervisor. Only when nothing it uses can change meanwhile: no step
   * `when`, no step result reference. One step ahead only, so a long task
   * does not wake every wrapper at once.
   */
  private armNext(rec: TaskRec, i: number, seq: number, attempt: number): Armed | undefined {
    const prev = rec.task.steps[i];
    const step = rec.task.steps[i + 1];
    if (this.plan.settings.armNextStep === false || prev === undefined || step === undefined) return undefined;
    if (step.when !== undefined && step.when.length > 0) return undefined;
    if (readsStepResult(step)) return undefined;
    // A sequence number left unused when this fails is harmless: wrappers take the lowest start at or after theirs.
    const next = this.nextSeq(step.container);
    let msg: StartMessage;
    try {
      msg = this.buildStart(rec, step, attempt, next);
    } catch {
      // The normal start, once step `i` ended, meets the same error where it is handled.
      return undefined;
    }
    const after: ArmedAfter = { container: prev.container, seq, continueOnError: prev.onError === 'continue' };
    writeJson(this.deps.layout.startFile(step.container, next), { ...msg, after });
    return { container: step.container, seq: next, after };
  }

  /**
   * Takes back a start written ahead: its stop file, seen before a go-ahead,
   * makes the wrapper drop it. In the sub-millisecond window where the step
   * before has just ended well and we have not yet read that, the step has
   * already begun: the same file stops it at once and, its done message
   * unread, it is summarised as Skipped.
   */
  private withdrawArmed(rec: TaskRec, why: string): void {
    if (rec.armed !== undefined) this.writeStop(rec.armed.container, rec.armed.seq, why);
    rec.armed = undefined;
  }

  /** Waits for a done message; a wrapper whose beat goes stale is reported as dead. */
  private async waitDone(container: string, seq: number): Promise<{ done: DoneMessage; died: boolean }> {
    const { layout, waiter, clock } = this.deps;
    const { heartbeatMs, staleMs } = this.plan.settings;
    const name = `done-${seq}.json`;
    const file = layout.doneFile(container, seq);
    let timer: ReturnType<typeof setInterval> | undefined;
    const died = new Promise<{ done: DoneMessage; died: boolean }>((resolve) => {
      timer = setInterval(() => {
        const now = clock.now();
        const age = ageMs(layout.beatFile(container), now);
        if (age !== undefined && age > staleMs && !fs.existsSync(file)) {
          const t = iso(now);
          resolve({ done: { seq, exitCode: 255, reason: 'Failed', message: `container ${container} died (no heartbeat for ${Math.round(age)} ms)`, startedAt: t, finishedAt: t }, died: true });
        }
      }, Math.max(10, heartbeatMs));
    });
    const done = waiter.until([layout.containerDir(container)], (n) => n === name, () => readJson<DoneMessage>(file)).then((d) => ({ done: d, died: false }));
    try {
      return await Promise.race([done, died]);
    } finally {
      clearInterval(timer);
    }
  }

  private async runAttempt(rec: TaskRec, attempt: number): Promise<[TaskStatus, string]> {
    const { layout, clock } = this.deps;
    const task = rec.task;
    const timer = task.timeoutMs !== undefined && task.timeoutMs > 0 ? setTimeout(() => this.stopTask(rec, 'TaskRunTimeout'), task.timeoutMs) : undefined;
    rec.steps = [];
    let failed: [TaskStatus, string] | undefined;
    try {
      for (const [i, step] of task.steps.entries()) {
        // A start written ahead that its predecessor's end let go is already running: it is waited for (and stopped) like any other.
        const pre = rec.armed;
        rec.armed = undefined;
        if (pre === undefined && (failed !== undefined || rec.stopReason !== undefined)) {
          failed ??= stopOutcome(rec.stopReason ?? 'Cancelled');
          rec.steps.push({ name: step.name, container: step.container, status: 'Skipped' });
          continue;
        }
        if (step.when !== undefined && step.when.length > 0 && !whenHolds(step.when, this.resolverFor(rec, attempt))) {
          rec.steps.push({ name: step.name, container: step.container, status: 'Skipped' });
          continue;
        }
        let seq: number;
        if (pre !== undefined) {
          seq = pre.seq;
        } else {
          seq = this.nextSeq(step.container);
          writeJson(layout.startFile(step.container, seq), this.buildStart(rec, step, attempt, seq));
        }
        rec.current = { container: step.container, seq };
        const started = clock.now();
        this.emit({ type: 'step.started', time: iso(started), task: task.name, step: step.name, container: step.container, attempt });
        if (rec.stopReason !== undefined) this.writeStop(step.container, seq, rec.stopReason);
        if (failed === undefined && rec.stopReason === undefined) rec.armed = this.armNext(rec, i, seq, attempt);
        const { done, died } = await this.waitDone(step.container, seq);
        // The next wrapper drops its start by the same rule; a dead step never writes the done message it waits for.
        if (rec.armed !== undefined && (died || !armedGoesOn(rec.armed.after, done))) this.withdrawArmed(rec, died ? `step ${step.name} died` : `step ${step.name} ended the task`);
        rec.current = undefined;
        try {
          writeAtomic(layout.stepExitCodeFile(task.id, step.name), String(done.exitCode));
        } catch {
          // Only later steps read it; the summary carries the code anyway.
        }
        this.emit({ type: 'step.finished', time: iso(clock.now()), task: task.name, step: step.name, container: step.container, attempt, exitCode: done.exitCode, reason: done.reason });
        const ok = done.reason === 'Completed' && done.exitCode === 0;
        const stepStatus: StepSummary['status'] = ok
          ? 'Succeeded'
          : done.reason === 'TimedOut'
            ? 'TimedOut'
            : done.reason === 'Stopped'
              ? rec.stopReason === 'Cancelled' ? 'Cancelled' : rec.stopReason === 'SidecarFailed' ? 'Failed' : 'TimedOut'
              : 'Failed';
        rec.steps.push({ name: step.name, container: step.container, status: stepStatus, ...(died ? {} : { exitCode: done.exitCode }), startedAt: done.startedAt, finishedAt: done.finishedAt });
        if (died) {
          failed = ['Failed', 'ContainerDied'];
          // A dead wrapper cannot take more work; release it so nothing waits on it.
          this.release(step.container);
        } else if (rec.stopReason !== undefined) {
          failed = stopOutcome(rec.stopReason);
        } else if (!ok && step.onError !== 'continue') {
          failed = ['Failed', 'Failed'];
        }
      }
      if (failed === undefined && rec.stopReason !== undefined && rec.stopReason !== 'TaskRunTimeout') failed = stopOutcome(rec.stopReason);
      return failed ?? ['Succeeded', 'Succeeded'];
    } finally {
      // Only an error leaves starts written ahead behind.
      this.withdrawArmed(rec, 'the attempt ended');
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private async startSidecars(sidecars: readonly PlanSidecar[], task: string | undefined, rec: TaskRec | undefined): Promise<{ started: SidecarRun[]; failed?: string }> {
    const { layout, waiter, clock } = this.deps;
    const started: SidecarRun[] = [];
    const r = this.resolverFor(rec, 0);
    for (const sc of sidecars) {
      const seq = this.nextSeq(sc.container);
      const tail = substituteArgs([...sc.command, ...sc.args], r);
      const env: Record<string, string> = {};
      for (const e of sc.env) env[e.name] = substitute(e.value, r);
      let argv = tail;
      let script: string | undefined;
      let scriptFile: string | undefined;
      if (sc.script !== undefined) {
        script = substitute(sc.script, r);
        if (!script.startsWith('#!')) script = DEFAULT_SHEBANG + script;
        scriptFile = `${layout.containerDir(sc.container)}/script-${seq}`;
        argv = [scriptFile, ...tail];
      }
      const msg: StartMessage = {
        seq, task: task ?? '', attempt: 0, argv, env, graceMs: sc.terminationGraceMs,
        ...(script !== undefined && scriptFile !== undefined ? { script, scriptFile } : {}),
        ...(sc.workingDir !== undefined && sc.workingDir !== '' ? { workingDir: sc.workingDir } : {}),
      };
      writeJson(layout.startFile(sc.container, seq), msg);
      started.push({ sidecar: sc, seq, ...(task !== undefined ? { task } : {}) });
    }
    // All start together, as a pod's containers do; the scope waits until every one is ready or one fails.
    let settled = false;
    let fail: (why: string) => void = () => undefined;
    const wakes: (() => void)[] = [];
    const stopSet = rec?.onStop ?? this.runStop;
    const waitOne = async (run: SidecarRun): Promise<string | undefined> => {
      const sc = run.sidecar;
      const ready = layout.readyFile(sc.container);
      const done = layout.doneFile(sc.container, run.seq);
      let wakeStop: (() => void) | undefined;
      const stopped = new Promise<'stopped'>((res) => {
        wakeStop = () => res('stopped');
      });
      if (wakeStop !== undefined) {
        stopSet.add(wakeStop);
        wakes.push(wakeStop);
      }
      const already = rec !== undefined ? rec.stopReason !== undefined : this.pipelineTimedOut || this.cancel !== undefined;
      const hit = already ? 'stopped' : await Promise.race([waiter.anyOf([ready, done]), stopped]);
      if (wakeStop !== undefined) stopSet.delete(wakeStop);
      // Another sidecar already failed the scope: this one is being stopped, not failing.
      if (settled) return undefined;
      if (hit === ready) {
        this.emit({ type: 'sidecar.ready', time: iso(clock.now()), ...(task !== undefined ? { task } : {}), sidecar: sc.name, container: sc.container });
        // Ready, then gone while the others still start: the scope fails the same way.
        void waiter.anyOf([done]).then(() => {
          if (settled) return;
          const why = readJson<DoneMessage>(done)?.message ?? 'ended';
          this.emit({ type: 'sidecar.failed', time: iso(clock.now()), ...(task !== undefined ? { task } : {}), sidecar: sc.name, container: sc.container, reason: why });
          fail(`sidecar ${sc.name}: ${why}`);
        });
        return undefined;
      }
      const why = hit === 'stopped' ? 'stopped before it was ready' : (readJson<DoneMessage>(done)?.message ?? 'exited before it was ready');
      this.emit({ type: 'sidecar.failed', time: iso(clock.now()), ...(task !== undefined ? { task } : {}), sidecar: sc.name, container: sc.container, reason: why });
      return `sidecar ${sc.name}: ${why}`;
    };
    const failed = await new Promise<string | undefined>((resolve) => {
      fail = resolve;
      let left = started.length;
      if (left === 0) resolve(undefined);
      for (const run of started) {
        void waitOne(run).then((why) => {
          if (why !== undefined) resolve(why);
          else if (--left === 0) resolve(undefined);
        });
      }
    });
    settled = true;
    for (const w of wakes) {
      stopSet.delete(w);
      w();
    }
    return failed !== undefined ? { started, failed } : { started };
  }

  private async stopSidecars(runs: readonly SidecarRun[]): Promise<void> {
    const { layout, waiter } = this.deps;
    await Promise.all(runs.map(async (s) => {
      const done = layout.doneFile(s.sidecar.container, s.seq);
      if (!fs.existsSync(done)) {
        this.writeStop(s.sidecar.container, s.seq, 'scope ended');
        // Bounded: a sidecar wrapper that died must not hold the run.
        const bound = s.sidecar.terminationGraceMs + this.plan.settings.staleMs;
        await Promise.race([waiter.anyOf([done]), new Promise((r) => setTimeout(r, bound).unref())]);
      }
      this.release(s.sidecar.container);
    }));
  }

  private summary(now: number, sidecarFailure: string | undefined): RunSummary {
    const recs = [...this.recs.values()];
    const dag = recs.filter((r) => r.phase === 'dag');
    let status: RunStatus;
    let reason: string;
    const failed = recs.some((r) => r.status !== undefined && r.status !== 'Succeeded' && r.status !== 'Skipped' && r.task.onError !== 'continue');
    if (this.cancel !== undefined) [status, reason] = ['Cancelled', 'Cancelled'];
    else if (this.pipelineTimedOut || this.tasksTimedOut || this.finallyTimedOut) [status, reason] = ['TimedOut', 'PipelineRunTimeout'];
    else if (sidecarFailure !== undefined || failed) [status, reason] = ['Failed', 'Failed'];
    else if (dag.some((r) => r.status === 'Skipped')) [status, reason] = ['Succeeded', 'Completed'];
    else [status, reason] = ['Succeeded', 'Succeeded'];
    const tasks: Record<string, TaskSummary> = {};
    for (const r of recs) {
      tasks[r.task.name] = {
        status: r.status ?? 'Skipped',
        reason: r.reason,
        attempts: r.attempts,
        results: r.results,
        ...(r.startedAt !== undefined ? { startedAt: iso(r.startedAt) } : {}),
        ...(r.finishedAt !== undefined ? { finishedAt: iso(r.finishedAt) } : {}),
        ...(r.startedAt !== undefined && r.finishedAt !== undefined ? { durationMs: r.finishedAt - r.startedAt } : {}),
        steps: r.steps,
        ...(r.phase === 'finally' ? { finally: true } : {}),
      };
    }
    const results: Record<string, ParamValue> = {};
    const resolve = this.resolverFor(undefined, 0);
    for (const pr of this.plan.results) {
      const v = substituteValue(pr.value, resolve);
      // A result over a task result that was never produced is left out, as Tekton does.
      if (/\$\(\s*tasks\./.test(stringify(v))) continue;
      results[pr.name] = v;
    }
    return { status, reason, durationMs: now - this.startedAt, startedAt: iso(this.startedAt), finishedAt: iso(now), tasks, results };
  }
}

function stopOutcome(why: StopReason): [TaskStatus, string] {
  if (why === 'Cancelled') return ['Cancelled', 'TaskRunCancelled'];
  if (why === 'TaskRunTimeout') return ['TimedOut', 'TaskRunTimeout'];
  if (why === 'SidecarFailed') return ['Failed', 'SidecarFailed'];
  return ['TimedOut', 'PipelineRunTimeout'];
}
