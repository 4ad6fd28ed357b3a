/**
 * Running one task: its sidecars, its attempts (retries), and each attempt's
 * steps through the mailbox — the next step's start written ahead when
 * nothing it reads can change — then its results.
 */
import { armedGoesOn, type PlanStep, type PlanTask, type StartMessage, type TaskStatus } from '@pipod/plan';
import { whenHolds, type SkipReason } from '../rules.ts';
import { iso, withdrawArmed, type RunContext } from './context.ts';
import type { Deadlines } from './deadlines.ts';
import { afterStep, diedReason, retryAfter, skippedSteps, stepStatus, stopOutcome, type Armed, type TaskRec } from './facts.ts';
import { startMessage } from './mailbox.ts';
import { readsStepResult } from './resolver.ts';
import { startSidecars, stopSidecars, watchTaskSidecars } from './sidecars.ts';
import { clearAttempt, readResults, writeStepExitCode } from './taskfiles.ts';

/** Releases every container of a task: it will get no more work. */
export function releaseTask(run: RunContext, task: PlanTask): void {
  for (const s of task.steps) run.mail.release(s.container);
  for (const s of task.sidecars) run.mail.release(s.container);
}

/** Records a task as skipped, without running anything. */
export function markSkipped(run: RunContext, rec: TaskRec, reason: SkipReason): void {
  if (rec.state === 'done') return;
  rec.state = 'done';
  rec.status = 'Skipped';
  rec.reason = reason;
  rec.steps = skippedSteps(rec.task);
  run.emit({ type: 'task.skipped', time: iso(run.clock.now()), task: rec.task.name, reason });
  releaseTask(run, rec.task);
}

/** Records a task's end. */
export function finishTask(run: RunContext, rec: TaskRec, status: TaskStatus, reason: string): void {
  if (rec.state === 'done') return;
  const now = run.clock.now();
  rec.state = 'done';
  rec.status = status;
  rec.reason = reason;
  rec.finishedAt = now;
  run.emit({ type: 'task.finished', time: iso(now), task: rec.task.name, status, reason, attempts: rec.attempts, durationMs: now - (rec.startedAt ?? now), results: rec.results });
  releaseTask(run, rec.task);
}

/** Runs a task from its sidecars to its results and records its end. */
export async function runTask(run: RunContext, deadlines: Deadlines, rec: TaskRec): Promise<void> {
  const task = rec.task;
  rec.startedAt = run.clock.now();
  run.emit({ type: 'task.started', time: iso(rec.startedAt), task: task.name, attempt: 0 });
  const sidecars = await startSidecars(run, task.sidecars, { task: task.name, rec });
  let status: TaskStatus = 'Failed';
  let reason = 'Failed';
  if (sidecars.failed !== undefined) {
    rec.attempts = 1;
    rec.steps = skippedSteps(task);
    if (rec.stopReason !== undefined) [status, reason] = stopOutcome(rec.stopReason);
    else reason = 'SidecarFailed';
  } else {
    const watch = watchTaskSidecars(run, rec, sidecars.started);
    try {
      [status, reason] = await runAttempts(run, deadlines, rec);
    } finally {
      watch.stop();
    }
  }
  const read = readResults(run.layout, task);
  rec.results = read.results;
  if (status === 'Succeeded' && read.error !== undefined) {
    status = 'Failed';
    reason = 'InvalidTaskResult';
  }
  await stopSidecars(run, sidecars.started);
  finishTask(run, rec, status, reason);
}

async function runAttempts(run: RunContext, deadlines: Deadlines, rec: TaskRec): Promise<[TaskStatus, string]> {
  const task = rec.task;
  let status: TaskStatus = 'Failed';
  let reason = 'Failed';
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      run.emit({ type: 'task.retrying', time: iso(run.clock.now()), task: task.name, attempt, reason });
      if (rec.stopReason === 'TaskRunTimeout') rec.stopReason = undefined;
    }
    rec.attempts = attempt + 1;
    clearAttempt(run.layout, task);
    const disarm = deadlines.armTask(rec);
    try {
      [status, reason] = await runAttempt(run, rec, attempt);
    } finally {
      disarm();
    }
    if (!retryAfter(task, attempt, status, rec.stopReason)) return [status, reason];
  }
}

function stepStart(run: RunContext, rec: TaskRec, step: PlanStep, attempt: number, seq: number): StartMessage {
  const { layout, plan } = run;
  return startMessage(layout, step, run.resolver(rec, attempt), {
    seq,
    task: rec.task.name,
    attempt,
    graceMs: plan.settings.stepGraceMs,
    exitCodeFile: layout.stepExitCodeFile(rec.task.id, step.name),
    ...(step.timeoutMs !== undefined && step.timeoutMs > 0 ? { timeoutMs: step.timeoutMs } : {}),
  });
}

/**
 * Writes the start of the step after step `i` while step `i` runs, so its
 * wrapper starts it the moment step `i` ends and the handoff skips the
 * supervisor. Only when nothing it uses can change meanwhile: no step
 * `when`, no step result reference. One step ahead only, so a long task
 * does not wake every wrapper at once.
 */
function armNext(run: RunContext, rec: TaskRec, i: number, seq: number, attempt: number): Armed | undefined {
  const prev = rec.task.steps[i];
  const step = rec.task.steps[i + 1];
  if (run.plan.settings.armNextStep === false || prev === undefined || step === undefined) return undefined;
  if (step.when !== undefined && step.when.length > 0) return undefined;
  if (readsStepResult(step)) return undefined;
  // A sequence number left unused when this fails is harmless: wrappers take the lowest start at or after theirs.
  const next = run.mail.nextSeq(step.container);
  let msg: StartMessage;
  try {
    msg = stepStart(run, rec, step, attempt, next);
  } catch {
    // The normal start, once step `i` ended, meets the same error where it is handled.
    return undefined;
  }
  const after = { container: prev.container, seq, continueOnError: prev.onError === 'continue' };
  run.mail.start(step.container, { ...msg, after });
  return { container: step.container, seq: next, after };
}

async function runAttempt(run: RunContext, rec: TaskRec, attempt: number): Promise<[TaskStatus, string]> {
  const { mail, clock, layout } = run;
  const task = rec.task;
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
      if (step.when !== undefined && step.when.length > 0 && !whenHolds(step.when, run.resolver(rec, attempt))) {
        rec.steps.push({ name: step.name, container: step.container, status: 'Skipped' });
        continue;
      }
      let seq: number;
      if (pre !== undefined) {
        seq = pre.seq;
      } else {
        seq = mail.nextSeq(step.container);
        mail.start(step.container, stepStart(run, rec, step, attempt, seq));
      }
      rec.current = { container: step.container, seq };
      run.emit({ type: 'step.started', time: iso(clock.now()), task: task.name, step: step.name, container: step.container, attempt });
      if (rec.stopReason !== undefined) mail.stop(step.container, seq, rec.stopReason);
      if (failed === undefined && rec.stopReason === undefined) rec.armed = armNext(run, rec, i, seq, attempt);
      const { done, died } = await mail.waitDone(step.container, seq);
      // The next wrapper drops its start by the same rule; a dead step never writes the done message it waits for.
      if (rec.armed !== undefined && (died !== false || !armedGoesOn(rec.armed.after, done))) withdrawArmed(run, rec, died !== false ? `step ${step.name} died` : `step ${step.name} ended the task`);
      rec.current = undefined;
      writeStepExitCode(layout, task, step.name, done.exitCode);
      run.emit({ type: 'step.finished', time: iso(clock.now()), task: task.name, step: step.name, container: step.container, attempt, exitCode: done.exitCode, reason: done.reason });
      // A container the engine saw end has a real exit code; one whose heartbeat stopped has none.
      rec.steps.push({ name: step.name, container: step.container, status: stepStatus(done, rec.stopReason), ...(died === 'heartbeat' ? {} : { exitCode: done.exitCode }), ...(died !== false ? { reason: diedReason(done) } : {}), startedAt: done.startedAt, finishedAt: done.finishedAt });
      // A dead wrapper cannot take more work; release it so nothing waits on it.
      if (died !== false) mail.release(step.container);
      failed = afterStep(step, done, died !== false, rec.stopReason) ?? failed;
    }
    if (failed === undefined && rec.stopReason !== undefined && rec.stopReason !== 'TaskRunTimeout') failed = stopOutcome(rec.stopReason);
    return failed ?? ['Succeeded', 'Succeeded'];
  } finally {
    // Only an error leaves starts written ahead behind.
    withdrawArmed(run, rec, 'the attempt ended');
  }
}
