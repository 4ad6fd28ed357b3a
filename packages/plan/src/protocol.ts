/**
 * Messages exchanged through files between the supervisor and the wrappers,
 * and the event stream the supervisor prints. Files are written to a temp
 * name and renamed into place so a reader never sees half a message.
 */
import type { ParamValue, PlanSettings, PlanSidecar } from './plan.ts';

/** Supervisor → step/sidecar wrapper: run this, fully substituted. */
export interface StartMessage {
  readonly seq: number;
  readonly task: string;
  /** Zero-based attempt of the task (retry count). */
  readonly attempt: number;
  /** Argument vector to exec; a script has already been written to `scriptFile`. */
  readonly argv: readonly string[];
  /** Script body to write to `scriptFile` before exec (argv[0] is then that file). */
  readonly script?: string;
  readonly scriptFile?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly timeoutMs?: number;
  readonly graceMs: number;
  /** Files to clear before the run (result files of a previous attempt). */
  readonly exitCodeFile?: string;
  /**
   * Set on a start written while the previous step still runs: the wrapper
   * prepares it, then starts it itself the moment that step's done message
   * lets the task go on (`armedGoesOn`), so the handoff skips the supervisor.
   */
  readonly after?: ArmedAfter;
}

/** The step an armed start waits for. */
export interface ArmedAfter {
  readonly container: string;
  readonly seq: number;
  /** The previous step has `onError: continue`: its failure does not stop the task. */
  readonly continueOnError: boolean;
}

/**
 * Whether an armed start runs, given the done message of the step it waits
 * for. The supervisor and the wrapper both decide with this one rule, so they
 * agree without talking: a stopped step ends the task, a failed one too
 * unless it continues on error.
 */
export function armedGoesOn(after: ArmedAfter, done: Pick<DoneMessage, 'reason' | 'exitCode'>): boolean {
  if (done.reason === 'Stopped') return false;
  return after.continueOnError || (done.reason === 'Completed' && done.exitCode === 0);
}

/**
 * Init → wrapper, in its inbox before any container starts: what a wrapper
 * needs before its first start message. Wrappers never see the plan, which
 * holds every other task's commands and run-time env.
 */
export interface ContainerConfig {
  readonly settings: PlanSettings;
  /** The sidecar's own plan entry (probes, grace period); absent for a step. */
  readonly sidecar?: PlanSidecar;
}

/** Why a step's process ended the way it did. */
export type StepEndReason = 'Completed' | 'Failed' | 'TimedOut' | 'Stopped' | 'StartFailed' | 'OOMKilled';

/** Why a container ended, as the engine running the pod saw it (the kubelet's terminated reasons, plus one that never started). */
export type DeathReason = 'OOMKilled' | 'Error' | 'Completed' | 'StartFailed';

/**
 * Runtime → supervisor (`Layout.deadFile`): a step or sidecar container has
 * ended or will never start. Containers never restart in a pipod pod, so the
 * fact is final; the supervisor reads it only while it waits for that
 * container, so the normal exit of a released container means nothing.
 */
export interface ContainerDeath {
  readonly container: string;
  readonly reason: DeathReason;
  readonly exitCode: number;
  readonly message?: string;
  /** When the engine saw it end (RFC 3339). */
  readonly finishedAt?: string;
}

const DEATH_REASONS: readonly string[] = ['OOMKilled', 'Error', 'Completed', 'StartFailed'];

/** Parses a dead-fact file; anything that is not a whole `ContainerDeath` is undefined. */
export function parseContainerDeath(text: string): ContainerDeath | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Readonly<Record<string, unknown>>;
  if (typeof o['container'] !== 'string' || typeof o['reason'] !== 'string' || !DEATH_REASONS.includes(o['reason'])) return undefined;
  if (typeof o['exitCode'] !== 'number' || !Number.isInteger(o['exitCode'])) return undefined;
  if (o['message'] !== undefined && typeof o['message'] !== 'string') return undefined;
  if (o['finishedAt'] !== undefined && typeof o['finishedAt'] !== 'string') return undefined;
  return v as ContainerDeath;
}

/** Wrapper → supervisor: the process ended. */
export interface DoneMessage {
  readonly seq: number;
  readonly exitCode: number;
  readonly signal?: string;
  readonly reason: StepEndReason;
  readonly message?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Final status of a run. */
export type RunStatus = 'Succeeded' | 'Failed' | 'Cancelled' | 'TimedOut';

/** Final status of a task. */
export type TaskStatus = 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled' | 'TimedOut';

/** Outcome of one step in the summary. */
export interface StepSummary {
  readonly name: string;
  readonly container: string;
  readonly status: 'Succeeded' | 'Failed' | 'Skipped' | 'TimedOut' | 'Cancelled';
  readonly exitCode?: number;
  /** Why its container ended it, when the container died under it (`OOMKilled`, `StartFailed`, `ContainerDied`). */
  readonly reason?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/** Outcome of one task in the summary. */
export interface TaskSummary {
  readonly status: TaskStatus;
  readonly reason: string;
  readonly attempts: number;
  readonly results: Readonly<Record<string, ParamValue>>;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly steps: readonly StepSummary[];
  readonly finally?: boolean;
}

/** The summary printed at the end (also `pipod run -o json`). */
export interface RunSummary {
  readonly status: RunStatus;
  readonly reason: string;
  readonly durationMs: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly tasks: Readonly<Record<string, TaskSummary>>;
  readonly results: Readonly<Record<string, ParamValue>>;
}

/** One line of the supervisor's event stream (JSON, one per line on stdout). */
export type RunEvent =
  | { readonly type: 'run.started'; readonly time: string; readonly pipeline: string; readonly tasks: readonly string[]; readonly finally: readonly string[] }
  | { readonly type: 'task.started'; readonly time: string; readonly task: string; readonly attempt: number }
  | { readonly type: 'task.retrying'; readonly time: string; readonly task: string; readonly attempt: number; readonly reason: string }
  | { readonly type: 'task.skipped'; readonly time: string; readonly task: string; readonly reason: string }
  | { readonly type: 'task.finished'; readonly time: string; readonly task: string; readonly status: TaskStatus; readonly reason: string; readonly attempts: number; readonly durationMs: number; readonly results: Readonly<Record<string, ParamValue>> }
  | { readonly type: 'step.started'; readonly time: string; readonly task: string; readonly step: string; readonly container: string; readonly attempt: number }
  | { readonly type: 'step.finished'; readonly time: string; readonly task: string; readonly step: string; readonly container: string; readonly attempt: number; readonly exitCode: number; readonly reason: StepEndReason }
  | { readonly type: 'sidecar.ready'; readonly time: string; readonly task?: string; readonly sidecar: string; readonly container: string }
  | { readonly type: 'sidecar.failed'; readonly time: string; readonly task?: string; readonly sidecar: string; readonly container: string; readonly reason: string }
  | { readonly type: 'run.finished'; readonly time: string; readonly summary: RunSummary };

/** What a field of an event must hold for the line to count as that event. */
type FieldKind = 'string' | 'number' | 'array' | 'object';

/**
 * The fields every event of a type carries (besides `type` and `time`), as
 * the supervisor writes them; optional fields (a sidecar's `task`) are not listed.
 */
const EVENT_FIELDS: Readonly<Record<RunEvent['type'], Readonly<Record<string, FieldKind>>>> = {
  'run.started': { pipeline: 'string', tasks: 'array', finally: 'array' },
  'task.started': { task: 'string', attempt: 'number' },
  'task.retrying': { task: 'string', attempt: 'number', reason: 'string' },
  'task.skipped': { task: 'string', reason: 'string' },
  'task.finished': { task: 'string', status: 'string', reason: 'string', attempts: 'number', durationMs: 'number', results: 'object' },
  'step.started': { task: 'string', step: 'string', container: 'string', attempt: 'number' },
  'step.finished': { task: 'string', step: 'string', container: 'string', attempt: 'number', exitCode: 'number', reason: 'string' },
  'sidecar.ready': { sidecar: 'string', container: 'string' },
  'sidecar.failed': { sidecar: 'string', container: 'string', reason: 'string' },
  'run.finished': { summary: 'object' },
};

function holds(v: unknown, kind: FieldKind): boolean {
  if (kind === 'array') return Array.isArray(v);
  if (kind === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  return typeof v === kind;
}

/**
 * Parses one line of the supervisor's output into an event, or undefined for
 * anything else: diagnostics, a partial line, a JSON value that is not one of
 * the event types with a string `time` and the fields of its type. The
 * supervisor stamps every event with `time` and readers rely on it (the
 * controller's start and completion times), so a line without it is not an
 * event. Every reader of the stream (both `pipod run` runtimes and the
 * controller) uses this one rule.
 */
export function parseEvent(line: string): RunEvent | undefined {
  const t = line.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Readonly<Record<string, unknown>>;
  const type = o['type'];
  if (typeof type !== 'string' || !Object.hasOwn(EVENT_FIELDS, type) || typeof o['time'] !== 'string') return undefined;
  const fields = EVENT_FIELDS[type as RunEvent['type']];
  for (const [name, kind] of Object.entries(fields)) if (!holds(o[name], kind)) return undefined;
  return v as RunEvent;
}


/**
 * What the cancel file (`Layout.cancelFile`) asks for: `stop` (Tekton's
 * StoppedRunFinally: running tasks finish, finally runs), `graceful`
 * (CancelledRunFinally: running tasks stop, finally runs) or `immediate`
 * (Cancelled: everything stops, no finally).
 */
export type CancelMode = 'stop' | 'graceful' | 'immediate';
