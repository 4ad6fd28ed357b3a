/**
 * Sidecar lifecycle: start a scope's sidecars together and wait until all
 * are ready (or one fails, or the scope is stopped), notice one that ends
 * while its scope runs, and stop them when the scope ends.
 */
import type { PlanSidecar } from '@pipod/plan';
import { iso, stopTask, type RunContext } from './context.ts';
import type { TaskRec } from './facts.ts';
import { startMessage } from './mailbox.ts';

/** A sidecar started for a scope, and its start's sequence number. */
export interface SidecarRun {
  readonly sidecar: PlanSidecar;
  readonly seq: number;
  readonly task?: string;
}

/** The sidecars a scope started, and why the scope cannot go on, if it cannot. */
export interface SidecarStart {
  readonly started: readonly SidecarRun[];
  readonly failed?: string;
}

/** Whose sidecars these are: a task's (`rec`) or the pipeline's (none). */
interface Scope {
  readonly task?: string;
  readonly rec?: TaskRec;
}

function failedEvent(run: RunContext, scope: Scope, sc: PlanSidecar, reason: string): void {
  run.emit({ type: 'sidecar.failed', time: iso(run.clock.now()), ...(scope.task !== undefined ? { task: scope.task } : {}), sidecar: sc.name, container: sc.container, reason });
}

/** Starts every sidecar of a scope at once, as a pod's containers do, and waits until every one is ready or one fails. */
export async function startSidecars(run: RunContext, sidecars: readonly PlanSidecar[], scope: Scope): Promise<SidecarStart> {
  const { mail, clock } = run;
  const { task, rec } = scope;
  const started: SidecarRun[] = [];
  const r = run.resolver(rec, 0);
  for (const sc of sidecars) {
    const seq = mail.nextSeq(sc.container);
    mail.start(sc.container, startMessage(run.layout, sc, r, { seq, task: task ?? '', attempt: 0, graceMs: sc.terminationGraceMs }));
    started.push({ sidecar: sc, seq, ...(task !== undefined ? { task } : {}) });
  }
  let settled = false;
  let fail: (why: string) => void = () => undefined;
  const wakes: (() => void)[] = [];
  const stopSet = rec?.onStop ?? run.runStop;
  const waitOne = async (one: SidecarRun): Promise<string | undefined> => {
    const sc = one.sidecar;
    let wakeStop: (() => void) | undefined;
    const stopped = new Promise<'stopped'>((res) => {
      wakeStop = () => res('stopped');
    });
    if (wakeStop !== undefined) {
      stopSet.add(wakeStop);
      wakes.push(wakeStop);
    }
    const already = rec !== undefined ? rec.stopReason !== undefined : run.flags.pipelineTimedOut || run.flags.cancel !== undefined;
    const hit = already ? 'stopped' : await Promise.race([mail.readyOrEnded(sc.container, one.seq), stopped]);
    if (wakeStop !== undefined) stopSet.delete(wakeStop);
    // Another sidecar already failed the scope: this one is being stopped, not failing.
    if (settled) return undefined;
    if (hit === 'ready') {
      run.emit({ type: 'sidecar.ready', time: iso(clock.now()), ...(task !== undefined ? { task } : {}), sidecar: sc.name, container: sc.container });
      // Ready, then gone while the others still start: the scope fails the same way.
      void mail.ended(sc.container, one.seq).then((done) => {
        if (settled) return;
        const why = done?.message ?? 'ended';
        failedEvent(run, scope, sc, why);
        fail(`sidecar ${sc.name}: ${why}`);
      });
      return undefined;
    }
    const why = hit === 'stopped' ? 'stopped before it was ready' : (mail.endOf(sc.container, one.seq)?.message ?? 'exited before it was ready');
    failedEvent(run, scope, sc, why);
    return `sidecar ${sc.name}: ${why}`;
  };
  const failed = await new Promise<string | undefined>((resolve) => {
    fail = resolve;
    let left = started.length;
    if (left === 0) resolve(undefined);
    for (const one of started) {
      void waitOne(one).then((why) => {
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

/**
 * A task's sidecar that ends while the task runs fails the task
 * (`SidecarFailed`): its steps rely on it. Ends after `stop()` are the
 * scope ending and are ignored.
 */
export function watchTaskSidecars(run: RunContext, rec: TaskRec, runs: readonly SidecarRun[]): { stop(): void } {
  let stopped = false;
  for (const one of runs) {
    void run.mail.ended(one.sidecar.container, one.seq).then((done) => {
      if (stopped || rec.state !== 'running' || rec.stopReason !== undefined) return;
      failedEvent(run, { task: rec.task.name }, one.sidecar, `${done?.message ?? 'ended'} while the task ran`);
      stopTask(run, rec, 'SidecarFailed');
    });
  }
  return { stop: () => { stopped = true; } };
}

/** A pipeline sidecar that ends mid-run fails the run (tasks using it fail on their own); `onFail` gets the first such end. */
export function watchSharedSidecars(run: RunContext, runs: readonly SidecarRun[], onFail: (why: string) => void): void {
  let failed = false;
  for (const one of runs) {
    void run.mail.ended(one.sidecar.container, one.seq).then((done) => {
      if (run.flags.phase === 'over' || failed) return;
      failed = true;
      const why = `${done?.message ?? 'ended'} while the run went on`;
      failedEvent(run, {}, one.sidecar, why);
      onFail(`sidecar ${one.sidecar.name}: ${why}`);
    });
  }
}

/** Stops a scope's sidecars and waits for each, bounded: a sidecar wrapper that died must not hold the run. */
export async function stopSidecars(run: RunContext, runs: readonly SidecarRun[]): Promise<void> {
  const { mail } = run;
  await Promise.all(runs.map(async (s) => {
    const c = s.sidecar.container;
    if (!mail.hasDone(c, s.seq)) {
      mail.stop(c, s.seq, 'scope ended');
      const bound = s.sidecar.terminationGraceMs + run.plan.settings.staleMs;
      let cancel: (() => void) | undefined;
      const timeout = new Promise<void>((r) => {
        cancel = run.timers.after(bound, r);
      });
      await Promise.race([mail.ended(c, s.seq), timeout]);
      cancel?.();
    }
    mail.release(c);
  }));
}
