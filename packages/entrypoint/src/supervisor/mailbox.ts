/**
 * The supervisor's side of the per-container mailbox: sequence numbers, the
 * one start-message builder (steps and sidecars alike), stop and release
 * files, and the wait for a done message that notices a dead container:
 * from the runtime's dead fact at once, or from its wrapper's heartbeat.
 */
import * as fs from 'node:fs';
import { basename } from 'node:path';
import { parseContainerDeath, substitute, substituteArgs, type ContainerDeath, type DoneMessage, type Layout, type PlanEnv, type PlanSettings, type Resolver, type StartMessage } from '@pipod/plan';
import { ageMs, readJson, writeAtomic, writeJson, type Clock, type Timers, type Waiter } from '../io.ts';
import { DEFAULT_SHEBANG } from '../step.ts';
import { deathDone, wrapperGone } from './facts.ts';

/** Largest done message read: the container writes it, and a huge one must not fill the supervisor's memory. */
const MAX_DONE_BYTES = 1024 * 1024;

/** What a start message is built from: a step's or a sidecar's process. */
export interface ProcessSpec {
  readonly container: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly script?: string;
  readonly env: readonly PlanEnv[];
  readonly workingDir?: string;
}

/** The fields of a start message that do not come from the process spec. */
export interface StartFields {
  readonly seq: number;
  readonly task: string;
  readonly attempt: number;
  readonly graceMs: number;
  readonly exitCodeFile?: string;
  readonly timeoutMs?: number;
}

/** A done message and, when it was made up for a container that died, who saw it: the engine (a dead fact) or the heartbeat. */
export interface DoneWait {
  readonly done: DoneMessage;
  readonly died: false | 'engine' | 'heartbeat';
}

/** Builds a start message: every run-time reference substituted, a script given its shebang and file. */
export function startMessage(layout: Layout, spec: ProcessSpec, r: Resolver, fields: StartFields): StartMessage {
  const tail = substituteArgs([...spec.command, ...spec.args], r);
  const env: Record<string, string> = {};
  for (const e of spec.env) env[e.name] = substitute(e.value, r);
  const base = {
    ...fields,
    env,
    ...(spec.workingDir !== undefined && spec.workingDir !== '' ? { workingDir: substitute(spec.workingDir, r) } : {}),
  };
  if (spec.script === undefined) return { ...base, argv: tail };
  let script = substitute(spec.script, r);
  if (!script.startsWith('#!')) script = DEFAULT_SHEBANG + script;
  const scriptFile = layout.scriptFile(spec.container, fields.seq);
  return { ...base, argv: [scriptFile, ...tail], script, scriptFile };
}

/** Writes and reads the mailbox files of every container of a run. */
export class Mailbox {
  private readonly seqs = new Map<string, number>();
  private readonly released = new Set<string>();

  constructor(
    private readonly layout: Layout,
    private readonly waiter: Waiter,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly settings: PlanSettings,
  ) {}

  /** The container's next sequence number; wrappers take the lowest start at or after theirs, so gaps are harmless. */
  nextSeq(container: string): number {
    const n = (this.seqs.get(container) ?? 0) + 1;
    this.seqs.set(container, n);
    return n;
  }

  /** Hands a start to the container's wrapper. */
  start(container: string, msg: StartMessage): void {
    writeJson(this.layout.startFile(container, msg.seq), msg);
  }

  /** Asks the wrapper to stop the process of `seq` (or to drop its start, when written ahead). */
  stop(container: string, seq: number, why: string): void {
    try {
      writeAtomic(this.layout.stopFile(container, seq), why);
    } catch {
      // The container directory vanished: the wrapper is gone and staleness detection ends the wait.
    }
  }

  /** Tells a wrapper it is no longer needed; once per container. */
  release(container: string): void {
    if (this.released.has(container)) return;
    this.released.add(container);
    try {
      writeAtomic(this.layout.releaseFile(container), '');
    } catch {
      // The exit file still ends a wrapper we could not reach.
    }
  }

  /** The done message of `seq`, when written. */
  readDone(container: string, seq: number): DoneMessage | undefined {
    return readJson<DoneMessage>(this.layout.doneFile(container, seq), MAX_DONE_BYTES);
  }

  /** True once `seq` has a done message. */
  hasDone(container: string, seq: number): boolean {
    return fs.existsSync(this.layout.doneFile(container, seq));
  }

  /** The runtime's fact that the container ended for good, when there is one. */
  death(container: string): ContainerDeath | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.layout.deadFile(container), 'utf8');
    } catch {
      return undefined;
    }
    const d = parseContainerDeath(text);
    // A fact names the container it is about; one filed under another name is not believed.
    return d?.container === container ? d : undefined;
  }

  /** How `seq` ended: its done message, else the one made from the container's death, if it died. */
  endOf(container: string, seq: number): DoneMessage | undefined {
    const done = this.readDone(container, seq);
    if (done !== undefined) return done;
    const death = this.death(container);
    return death === undefined ? undefined : deathDone(death, seq, this.clock.now());
  }

  /** Resolves once `seq` has a done message or its container died, however long that takes. */
  async ended(container: string, seq: number): Promise<DoneMessage | undefined> {
    await this.waiter.anyOf([this.layout.doneFile(container, seq), this.layout.deadFile(container)]);
    return this.endOf(container, seq);
  }

  /** Resolves with whichever comes first: the container's ready file, or its end (a done message or its death). */
  async readyOrEnded(container: string, seq: number): Promise<'ready' | 'ended'> {
    const ready = this.layout.readyFile(container);
    const hit = await this.waiter.anyOf([ready, this.layout.doneFile(container, seq), this.layout.deadFile(container)]);
    return hit === ready ? 'ready' : 'ended';
  }

  /**
   * Waits for a done message. A container the runtime reports dead ends the
   * wait at once with the engine's reason; a wrapper whose beat goes stale,
   * or that never beats (`wrapperGone`), is reported dead as well.
   */
  async waitDone(container: string, seq: number): Promise<DoneWait> {
    const { layout, waiter, clock } = this;
    const { heartbeatMs } = this.settings;
    const file = layout.doneFile(container, seq);
    const names = new Set([basename(file), basename(layout.deadFile(container))]);
    const since = clock.now();
    let cancel: (() => void) | undefined;
    const died = new Promise<DoneWait>((resolve) => {
      cancel = this.timers.every(Math.max(10, heartbeatMs), () => {
        const now = clock.now();
        const why = wrapperGone(ageMs(layout.beatFile(container), now), now - since, this.settings);
        if (why !== undefined && !fs.existsSync(file)) {
          const t = new Date(now).toISOString();
          resolve({ done: { seq, exitCode: 255, reason: 'Failed', message: `container ${container} died (${why})`, startedAt: t, finishedAt: t }, died: 'heartbeat' });
        }
      });
    });
    // The done message wins over a death reported after it: the step had ended by then.
    const ended = waiter.until([layout.outboxDir(container), layout.factsDir], (n) => names.has(n), (): DoneWait | undefined => {
      const done = readJson<DoneMessage>(file, MAX_DONE_BYTES);
      if (done !== undefined) return { done, died: false };
      const death = this.death(container);
      return death === undefined ? undefined : { done: deathDone(death, seq, clock.now(), since), died: 'engine' };
    });
    try {
      return await Promise.race([ended, died]);
    } finally {
      cancel?.();
    }
  }
}
