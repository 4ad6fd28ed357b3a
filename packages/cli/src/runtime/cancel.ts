/**
 * How a cancel of `pipod run` escalates, for every runtime alike: each
 * request asks at least one level more than the last (stop → graceful →
 * immediate → force), and an immediate cancel that has not ended the run
 * after `forceAfterMs` becomes a force kill. The rule is a pure state
 * machine (`nextCancel`); `Escalation` runs it with a real timer.
 */
import type { CancelMode } from '@pipod/plan';

/**
 * How long an immediate cancel may take before the pod is killed by force.
 * An immediate cancel stops every running step (SIGTERM, then SIGKILL after
 * the plan's step grace, 5 s by default) and the supervisor then writes its
 * summary; on Kubernetes the cancel first travels by exec. 30 s is
 * Kubernetes' default termination grace period: pipod is never less patient
 * with its own pod than the kubelet would be, and a force kill loses the
 * supervisor's summary, so it must stay the exception.
 */
export const FORCE_AFTER_MS = 30_000;

/** How far a cancel has gone. */
export type CancelLevel = 'none' | CancelMode | 'force';

const ORDER: readonly CancelLevel[] = ['none', 'stop', 'graceful', 'immediate', 'force'];

const rank = (l: CancelLevel): number => ORDER.indexOf(l);

/** The escalation so far: its level, and when an immediate cancel turns into a force kill. */
export interface CancelState {
  readonly level: CancelLevel;
  readonly forceAt?: number;
}

/** No cancel asked for. */
export const NO_CANCEL: CancelState = { level: 'none' };

/** What moves the escalation: a request (Ctrl-C, the watchdog, an API caller) or its timer. */
export type CancelInput =
  | { readonly kind: 'request'; readonly mode: CancelMode; readonly now: number }
  | { readonly kind: 'timer'; readonly now: number };

/** Why the pod is killed by force. */
export type ForceReason = 'requested' | 'overdue';

/** What the runtime must do after a step of the escalation. */
export type CancelEffect =
  /** Ask the supervisor (the cancel file) for this mode. */
  | { readonly kind: 'deliver'; readonly mode: CancelMode }
  /** Feed a `timer` input at this time. */
  | { readonly kind: 'arm'; readonly at: number }
  /** Remove the pod now. */
  | { readonly kind: 'force'; readonly reason: ForceReason };

/** One step of the escalation: the new state and its effects, in order. */
export interface CancelStep {
  readonly state: CancelState;
  readonly effects: readonly CancelEffect[];
}

/**
 * The escalation rule. The first request gets what it asks for; each later
 * one at least the next level (so pressing Ctrl-C again always does more); a
 * timer input forces the kill once an immediate cancel is overdue. Pure.
 */
export function nextCancel(s: CancelState, input: CancelInput, forceAfterMs: number = FORCE_AFTER_MS): CancelStep {
  if (s.level === 'force') return { state: s, effects: [] };
  if (input.kind === 'timer') {
    if (s.level !== 'immediate' || s.forceAt === undefined || input.now < s.forceAt) return { state: s, effects: [] };
    return { state: { level: 'force' }, effects: [{ kind: 'force', reason: 'overdue' }] };
  }
  const next = s.level === 'none' ? input.mode : ORDER[Math.max(rank(input.mode), rank(s.level) + 1)] ?? 'force';
  if (next === 'force' || next === 'none') return { state: { level: 'force' }, effects: [{ kind: 'force', reason: 'requested' }] };
  if (next !== 'immediate' || s.forceAt !== undefined) return { state: { ...s, level: next }, effects: [{ kind: 'deliver', mode: next }] };
  const at = input.now + forceAfterMs;
  // Armed before the delivery: a cancel that cannot be delivered (exec hangs) must still end in a force kill.
  return { state: { level: next, forceAt: at }, effects: [{ kind: 'arm', at }, { kind: 'deliver', mode: next }] };
}

/** What an `Escalation` calls: the runtime's side of each effect. */
export interface EscalationEffects {
  deliver(mode: CancelMode): Promise<void>;
  force(reason: ForceReason): Promise<void>;
}

/** Runs `nextCancel` against the wall clock and one timer. */
export class Escalation {
  private state: CancelState = NO_CANCEL;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly effects: EscalationEffects,
    private readonly forceAfterMs: number = FORCE_AFTER_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The level reached so far (read it each time: requests arrive from signal handlers). */
  get level(): CancelLevel {
    return this.state.level;
  }

  /** Escalates by one request; resolves once its effects are done. */
  request(mode: CancelMode): Promise<void> {
    return this.step({ kind: 'request', mode, now: this.now() });
  }

  /** Stops the timer (the run is over). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async step(input: CancelInput): Promise<void> {
    const { state, effects } = nextCancel(this.state, input, this.forceAfterMs);
    this.state = state;
    for (const e of effects) {
      if (e.kind === 'arm') {
        this.dispose();
        this.timer = setTimeout(() => { void this.step({ kind: 'timer', now: Math.max(this.now(), e.at) }); }, Math.max(0, e.at - this.now()));
        this.timer.unref();
      } else if (e.kind === 'deliver') {
        await this.effects.deliver(e.mode);
      } else {
        this.dispose();
        await this.effects.force(e.reason);
      }
    }
  }
}
