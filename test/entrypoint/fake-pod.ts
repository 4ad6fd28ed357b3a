/**
 * A pod without processes: a fake clock with timers, a waiter that re-checks
 * on demand, and fake wrappers that answer the supervisor's start and stop
 * files from a script of outcomes. A whole run takes milliseconds and its
 * timeline is exact, so tests assert virtual times and orders.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { armedGoesOn, Layout, type CancelMode, type ContainerDeath, type DoneMessage, type ExecutionPlan, type RunEvent, type RunSummary, type StartMessage } from '@pipod/plan';
import { Supervisor, createRunDirs, type Clock, type Timers, type Waiter } from '@pipod/entrypoint';

/** Virtual time zero of every fake run. */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

interface Timer {
  readonly at: number;
  readonly id: number;
  readonly f: () => void;
  readonly every?: number;
}

/** A clock that moves only when told to, with its timers. */
export class FakeClock implements Clock, Timers {
  private t = T0;
  private next = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, f: () => void): () => void {
    return this.add({ at: this.t + Math.max(0, ms), id: ++this.next, f });
  }

  every(ms: number, f: () => void): () => void {
    return this.add({ at: this.t + ms, id: ++this.next, f, every: ms });
  }

  /**
   * Moves time to the earliest one-shot timer (the earliest interval when
   * there is none), firing every timer due on the way; false when no timer
   * is left.
   */
  advance(): boolean {
    const oneShots = this.timers.filter((t) => t.every === undefined);
    const target = Math.min(...(oneShots.length > 0 ? oneShots : this.timers).map((t) => t.at));
    if (!Number.isFinite(target)) return false;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const tm = this.timers[0];
      if (tm === undefined || tm.at > target) return true;
      this.timers.shift();
      this.t = Math.max(this.t, tm.at);
      if (tm.every !== undefined) this.timers.push({ ...tm, at: tm.at + tm.every, id: ++this.next });
      tm.f();
    }
  }

  private add(tm: Timer): () => void {
    this.timers.push(tm);
    return () => {
      this.timers = this.timers.filter((x) => x.id !== tm.id);
    };
  }
}

interface Pending {
  readonly check: () => unknown;
  readonly resolve: (v: unknown) => void;
}

/** A waiter whose checks re-run only when `poke` is called (after every change the fake pod makes). */
export class FakeWaiter implements Waiter {
  private pending = new Set<Pending>();

  until<T>(_dirs: readonly string[], _match: (name: string) => boolean, check: () => T | undefined): Promise<T> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve) => this.pending.add({ check, resolve: resolve as (v: unknown) => void }));
  }

  anyOf(paths: readonly string[]): Promise<string> {
    return this.until([], () => true, () => paths.find((p) => fs.existsSync(p)));
  }

  recheckAll(): void {
    this.poke();
  }

  close(): void {
    this.pending.clear();
  }

  /** Re-runs every check; how many waits it ended. */
  poke(): number {
    let n = 0;
    for (const p of [...this.pending]) {
      const v = p.check();
      if (v !== undefined) {
        this.pending.delete(p);
        p.resolve(v);
        n++;
      }
    }
    return n;
  }
}

/** How a step's process behaves once started: how long it runs and how it ends. */
export interface Outcome {
  /** Virtual milliseconds it runs; Infinity runs until stopped. */
  readonly ms: number;
  readonly exitCode?: number;
  /** Task results written just before it ends. */
  readonly results?: Readonly<Record<string, string>>;
  /** The wrapper dies as the step starts: its beat is touched once, then never again. */
  readonly dies?: boolean;
  /** After `ms` the container dies and the runtime reports it (a dead fact), instead of a done message. */
  readonly death?: Pick<ContainerDeath, 'reason' | 'exitCode'>;
}

/** Decides a start's outcome: by container, seeing the substituted start message. */
export type Script = (container: string, msg: StartMessage) => Outcome;

/** A container that is a sidecar: ready after `readyMs` (never when undefined), ends after `endMs` if set. */
export interface FakeSidecar {
  readonly readyMs?: number;
  readonly endMs?: number;
}

interface Proc {
  readonly container: string;
  readonly msg: StartMessage;
  readonly startedAt: number;
  cancel: () => void;
  ended: boolean;
}

/** What a fake run produced. */
export interface FakeRunResult {
  readonly code: number;
  readonly summary: RunSummary;
  readonly events: RunEvent[];
  /** Every start the wrappers ran, in order, with its virtual start time (ms from T0). */
  readonly starts: { readonly container: string; readonly msg: StartMessage; readonly at: number }[];
  /** Starts written ahead that the supervisor took back before they ran (`container/seq`). */
  readonly withdrawn: string[];
}

/** Options of a fake run. */
export interface FakeRunOptions {
  readonly sidecars?: Readonly<Record<string, FakeSidecar>>;
  /** Writes the cancel file at these virtual times. */
  readonly cancels?: readonly { readonly at: number; readonly kind: CancelMode }[];
  /** The runtime reports these containers dead at these virtual times, whatever they are doing. */
  readonly deaths?: readonly (Pick<ContainerDeath, 'container' | 'reason' | 'exitCode'> & { readonly at: number })[];
  /** Containers whose wrapper never starts: no beat, no answer to starts. */
  readonly neverStart?: readonly string[];
}

/** Lets every promise chain that can move, move. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs a plan through the real supervisor against fake wrappers; resolves once the summary is written. */
export async function fakeRun(plan: ExecutionPlan, script: Script, opts: FakeRunOptions = {}): Promise<FakeRunResult> {
  const root = fs.mkdtempSync(join(tmpdir(), 'pipod-fake-'));
  const layout = new Layout(root);
  createRunDirs(layout, plan);
  const clock = new FakeClock();
  const waiter = new FakeWaiter();
  const events: RunEvent[] = [];
  const starts: FakeRunResult['starts'] = [];
  const withdrawn: string[] = [];
  const sup = new Supervisor(plan, { layout, waiter, clock, timers: clock, emit: (l) => events.push(JSON.parse(l) as RunEvent) });
  const seen = new Set<string>();
  const running = new Map<string, Proc>();
  const taskIds = new Map([...plan.tasks, ...plan.finally].flatMap((t) => [...t.steps.map((s) => [s.container, t.id] as const), ...t.sidecars.map((s) => [s.container, t.id] as const)]));
  const containers = [...new Set([...plan.tasks, ...plan.finally].flatMap((t) => [...t.steps, ...t.sidecars].map((s) => s.container)).concat(plan.sidecars.map((s) => s.container)))];
  for (const c of opts.cancels ?? []) clock.after(c.at, () => fs.writeFileSync(layout.cancelFile, c.kind));
  const dead = new Set<string>(opts.neverStart ?? []);
  const reportDeath = (d: Pick<ContainerDeath, 'container' | 'reason' | 'exitCode'>): void => {
    dead.add(d.container);
    for (const p of running.values()) if (p.container === d.container) { p.ended = true; p.cancel(); }
    fs.writeFileSync(layout.deadFile(d.container), JSON.stringify({ ...d, finishedAt: new Date(clock.now()).toISOString() }));
  };
  for (const d of opts.deaths ?? []) clock.after(d.at, () => reportDeath(d));

  const writeDone = (p: Proc, done: Omit<DoneMessage, 'seq' | 'startedAt' | 'finishedAt'>): void => {
    if (p.ended) return;
    p.ended = true;
    p.cancel();
    fs.writeFileSync(layout.doneFile(p.container, p.msg.seq), JSON.stringify({ seq: p.msg.seq, startedAt: new Date(p.startedAt).toISOString(), finishedAt: new Date(clock.now()).toISOString(), ...done }));
  };
  const begin = (container: string, msg: StartMessage): void => {
    const p: Proc = { container, msg, startedAt: clock.now(), cancel: () => undefined, ended: false };
    running.set(`${container}/${msg.seq}`, p);
    starts.push({ container, msg, at: clock.now() - T0 });
    const sc = opts.sidecars?.[container];
    if (sc !== undefined) {
      if (sc.readyMs !== undefined) clock.after(sc.readyMs, () => { if (!p.ended) fs.writeFileSync(layout.readyFile(container), ''); });
      if (sc.endMs !== undefined) p.cancel = clock.after(sc.endMs, () => writeDone(p, { exitCode: 1, reason: 'Failed', message: 'crashed' }));
      return;
    }
    const out = script(container, msg);
    if (out.death !== undefined) {
      const death = out.death;
      p.cancel = clock.after(out.ms, () => reportDeath({ container, ...death }));
      return;
    }
    if (out.dies === true) {
      fs.writeFileSync(layout.beatFile(container), '');
      fs.utimesSync(layout.beatFile(container), clock.now() / 1000, clock.now() / 1000);
      return;
    }
    const ends: (() => void)[] = [];
    const finish = (): void => {
      const id = taskIds.get(container);
      if (id !== undefined) for (const [k, v] of Object.entries(out.results ?? {})) fs.writeFileSync(layout.taskResultFile(id, k), v);
      const code = out.exitCode ?? 0;
      writeDone(p, { exitCode: code, reason: code === 0 ? 'Completed' : 'Failed' });
    };
    if (Number.isFinite(out.ms)) ends.push(clock.after(out.ms, finish));
    if (msg.timeoutMs !== undefined && msg.timeoutMs < out.ms) ends.push(clock.after(msg.timeoutMs, () => writeDone(p, { exitCode: 143, reason: 'TimedOut', message: 'step timed out' })));
    p.cancel = () => ends.forEach((e) => e());
  };
  /** One pass of every wrapper over its mailbox; true when it changed something. */
  const wrappersPass = (): boolean => {
    let changed = false;
    for (const c of containers) {
      if (dead.has(c)) continue;
      let names: string[];
      try {
        names = fs.readdirSync(layout.inboxDir(c));
      } catch {
        continue;
      }
      for (const n of names) {
        const m = /^start-(\d+)\.json$/.exec(n);
        if (m === null || seen.has(`${c}/${m[1]}`)) continue;
        const msg = JSON.parse(fs.readFileSync(join(layout.inboxDir(c), n), 'utf8')) as StartMessage;
        // A start written ahead waits for its predecessor's end, and is dropped by its stop file.
        if (fs.existsSync(layout.stopFile(c, msg.seq)) && msg.after !== undefined) {
          seen.add(`${c}/${msg.seq}`);
          withdrawn.push(`${c}/${msg.seq}`);
          changed = true;
          continue;
        }
        if (msg.after !== undefined) {
          const prev = fs.existsSync(layout.doneFile(msg.after.container, msg.after.seq)) ? (JSON.parse(fs.readFileSync(layout.doneFile(msg.after.container, msg.after.seq), 'utf8')) as DoneMessage) : undefined;
          if (prev === undefined) continue;
          seen.add(`${c}/${msg.seq}`);
          changed = true;
          if (armedGoesOn(msg.after, prev)) begin(c, msg);
          continue;
        }
        seen.add(`${c}/${msg.seq}`);
        changed = true;
        begin(c, msg);
      }
    }
    for (const p of running.values()) {
      if (!p.ended && fs.existsSync(layout.stopFile(p.container, p.msg.seq))) {
        writeDone(p, { exitCode: 143, reason: 'Stopped', message: 'step stopped by the supervisor' });
        changed = true;
      }
    }
    return changed;
  };

  let code: number | undefined;
  const done = sup.run().then((c) => {
    code = c;
  });
  for (let guard = 0; code === undefined; guard++) {
    if (guard > 100_000) throw new Error('the fake run did not end');
    await flush();
    const moved = wrappersPass();
    const woke = waiter.poke();
    if (moved || woke > 0) continue;
    await flush();
    if (code !== undefined) break;
    // Nothing moves without time passing; an hour of virtual time with nothing ending is a stuck run.
    if (clock.now() - T0 > 3_600_000 || !clock.advance()) throw new Error(`the fake run is stuck at +${clock.now() - T0} ms`);
  }
  await done;
  waiter.close();
  const summary = JSON.parse(fs.readFileSync(layout.summaryFile, 'utf8')) as RunSummary;
  fs.rmSync(root, { recursive: true, force: true });
  return { code: code ?? -1, summary, events, starts, withdrawn };
}

/** Start times (ms from T0) of the task's first step, by task, in the order tasks started. */
export function taskStarts(events: readonly RunEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === 'task.started') out[e.task] = Date.parse(e.time) - T0;
  return out;
}

/** End times (ms from T0) by task. */
export function taskEnds(events: readonly RunEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === 'task.finished') out[e.task] = Date.parse(e.time) - T0;
  return out;
}
