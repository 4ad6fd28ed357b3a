/**
 * The one description of where things live inside a pipod Pod. The builder
 * uses it to lay out mounts; the runtime uses it to find files. Every path is
 * derived from a root so tests can run the real runtime against a temp dir.
 */

/** Where the shared runtime volume is mounted in every container. */
export const PIPOD_ROOT = '/pipod';

/** Where the runtime image keeps Node, its libraries and the bundle (copied into the volume by init). */
export const RUNTIME_IMAGE_DIR = '/pipod-runtime';

/** Name of the shared emptyDir volume that carries the runtime, plan and run state. */
export const RUNTIME_VOLUME = 'pipod';

/** Where Tekton scripts expect the task's results directory. */
export const TEKTON_RESULTS_DIR = '/tekton/results';

/** Environment variable that overrides the root (tests only; the pod always uses PIPOD_ROOT). */
export const ROOT_ENV = 'PIPOD_ROOT';

/** Prefix of the environment variables that carry the gzipped, base64-encoded plan to the init container. */
export const PLAN_ENV_PREFIX = 'PIPOD_PLAN_';

/** Largest chunk of encoded plan per environment variable (Linux caps one string at 128 KiB). */
export const PLAN_ENV_CHUNK = 100 * 1024;

/** Name of the init container. */
export const INIT_CONTAINER = 'pipod-init';

/** Name of the supervisor container. */
export const SUPERVISOR_CONTAINER = 'pipod-supervisor';

/**
 * Every file path the builder and the runtime agree on, relative to one root.
 * Each wrapped container mounts only some directories of the run volume (see
 * `wrapperMounts`), each at the same path as in the supervisor's view, so a
 * path means the same file in every container that can see it.
 */
export class Layout {
  constructor(readonly root: string = PIPOD_ROOT) {}

  /** A path below the root as a volume subPath (`/pipod/run/x` → `run/x`). */
  subPathOf(path: string): string {
    if (!path.startsWith(`${this.root}/`)) throw new Error(`${path} is not below ${this.root}`);
    return path.slice(this.root.length + 1);
  }

  /** Directory holding node, its libraries and the entrypoint bundle. */
  get binDir(): string { return `${this.root}/bin`; }
  /** The Node binary. */
  get node(): string { return `${this.binDir}/node`; }
  /** Directory of the glibc loader and the libraries Node links. */
  get libDir(): string { return `${this.binDir}/lib`; }
  /** The dynamic loader used to start Node in images without a libc. */
  get loader(): string { return `${this.libDir}/ld-linux-x86-64.so.2`; }
  /** The bundled entrypoint. */
  get entrypoint(): string { return `${this.binDir}/entrypoint.js`; }
  /** The ExecutionPlan as written by init (the supervisor's only: a wrapper learns what it needs from its inbox). */
  get planFile(): string { return `${this.root}/plan.json`; }
  /** Run-time state. */
  get runDir(): string { return `${this.root}/run`; }
  /** Supervisor → every wrapper: the heartbeat and the exit file (read-only in every wrapped container). */
  get broadcastDir(): string { return `${this.runDir}/broadcast`; }
  /** Touched periodically by the supervisor so waiting containers can tell it is alive. */
  get heartbeat(): string { return `${this.broadcastDir}/heartbeat`; }
  /** Written once by the supervisor when the run is over: every wrapper exits. */
  get exitFile(): string { return `${this.broadcastDir}/exit`; }
  /** Written from outside to cancel: content `graceful` (finally still runs) or `immediate`. */
  get cancelFile(): string { return `${this.runDir}/cancel`; }
  /** The final summary, also printed as the last event. */
  get summaryFile(): string { return `${this.runDir}/summary.json`; }
  /** Append-only copy of the event stream. */
  get eventsFile(): string { return `${this.runDir}/events.jsonl`; }

  /** Parent of every container's mailbox directory. */
  get containersDir(): string { return `${this.runDir}/containers`; }
  /** Parent of every task's state directory. */
  get tasksDir(): string { return `${this.runDir}/tasks`; }
  /**
   * Facts about containers that only the runtime driving the pod (from
   * outside it) or the supervisor write — never a step or sidecar container,
   * so no step can declare another container dead.
   */
  get factsDir(): string { return `${this.runDir}/facts`; }

  /** Per-container mailbox directory: its inbox and outbox. */
  containerDir(container: string): string { return `${this.containersDir}/${container}`; }
  /** Supervisor (and init) → wrapper; read-only in the container. */
  inboxDir(container: string): string { return `${this.containerDir(container)}/in`; }
  /** Wrapper → supervisor; the one mailbox directory the container may write. */
  outboxDir(container: string): string { return `${this.containerDir(container)}/out`; }
  /** Init → wrapper: the runtime settings and, for a sidecar, its probes (a `ContainerConfig`). */
  configFile(container: string): string { return `${this.inboxDir(container)}/config.json`; }
  /** Supervisor → wrapper: run this (a StepStart), for the given sequence number. */
  startFile(container: string, seq: number): string { return `${this.inboxDir(container)}/start-${seq}.json`; }
  /** Supervisor → wrapper: stop the running process (content: reason). */
  stopFile(container: string, seq: number): string { return `${this.inboxDir(container)}/stop-${seq}`; }
  /** Supervisor → wrapper: you are no longer needed, exit. */
  releaseFile(container: string): string { return `${this.inboxDir(container)}/release`; }
  /** Wrapper → supervisor: finished (a StepDone), for the given sequence number. */
  doneFile(container: string, seq: number): string { return `${this.outboxDir(container)}/done-${seq}.json`; }
  /** Wrapper → supervisor: liveness, touched periodically. */
  beatFile(container: string): string { return `${this.outboxDir(container)}/beat`; }
  /** Sidecar wrapper → supervisor: probes passed. */
  readyFile(container: string): string { return `${this.outboxDir(container)}/ready`; }
  /** Where a start message's script is written before it runs (one per sequence number). */
  scriptFile(container: string, seq: number): string { return `${this.outboxDir(container)}/script-${seq}`; }
  /** Exit code file of the wrapper's warm-up run (never a step's). */
  warmUpExitCodeFile(container: string): string { return `${this.outboxDir(container)}/.warm-up-exit-code`; }
  /** Runtime → supervisor: the container ended for good or never started (a `ContainerDeath`). */
  deadFile(container: string): string { return `${this.factsDir}/dead-${container}.json`; }
  /** Copy of a container's output, so it can be read without the container runtime. */
  logFile(container: string): string { return `${this.outboxDir(container)}/log`; }

  /** Per-task state directory (taskId is the plan task's `id`); no container mounts it whole. */
  taskDir(taskId: string): string { return `${this.tasksDir}/${taskId}`; }
  /** The task's results directory (mounted at /tekton/results in the task's step containers). */
  taskResultsDir(taskId: string): string { return `${this.taskDir(taskId)}/results`; }
  /** One result file of a task. */
  taskResultFile(taskId: string, result: string): string { return `${this.taskResultsDir(taskId)}/${result}`; }
  /** The task's `/workspace`, shared by its steps as Tekton's is. */
  taskWorkspaceDir(taskId: string): string { return `${this.taskDir(taskId)}/workspace`; }
  /** Parent of a task's step directories (shared by the task's steps: exit codes and step results). */
  stepsDir(taskId: string): string { return `${this.taskDir(taskId)}/steps`; }
  /** A step's directory within its task: exit code and step results. */
  stepDir(taskId: string, step: string): string { return `${this.stepsDir(taskId)}/${step}`; }
  /** Where `$(steps.<step>.exitCode.path)` points. */
  stepExitCodeFile(taskId: string, step: string): string { return `${this.stepDir(taskId, step)}/exitCode`; }
  /** A step's results directory (`$(step.results.<r>.path)`). */
  stepResultsDir(taskId: string, step: string): string { return `${this.stepDir(taskId, step)}/results`; }
  /** One result file of a step. */
  stepResultFile(taskId: string, step: string, result: string): string { return `${this.stepResultsDir(taskId, step)}/${result}`; }
}

/** The layout at the in-pod root. */
export const podLayout = new Layout(PIPOD_ROOT);

/** One directory of the run volume a wrapped container mounts, at the same path as in the supervisor's view. */
export interface RunVolumeMount {
  /** Where it is mounted (and where the supervisor sees it). */
  readonly path: string;
  /** The same directory relative to the volume. */
  readonly subPath: string;
  readonly readOnly: boolean;
}

/** Who a wrapped container is, as far as its view of the run volume goes. */
export interface WrapperIdentity {
  readonly container: string;
  readonly kind: 'step' | 'sidecar';
  /** The plan task's id; absent for a pipeline-level sidecar. */
  readonly taskId?: string;
  /** The container of the step before this one in the same task: its outbox is read for an armed start. */
  readonly previous?: string;
}

/**
 * Everything a wrapped container sees of the run volume, and nothing more:
 * the runtime and the supervisor's broadcast read-only, its own inbox
 * read-only, its own outbox writable; a step also reads the outbox of the
 * step before it (an armed start waits for its done message) and writes its
 * own task's step directories. The task's results and `/workspace` are
 * mounted at Tekton's paths by the builder. No other task's files, no plan:
 * only the supervisor and init mount the whole volume.
 */
export function wrapperMounts(layout: Layout, w: WrapperIdentity): readonly RunVolumeMount[] {
  const at = (path: string, readOnly: boolean): RunVolumeMount => ({ path, subPath: layout.subPathOf(path), readOnly });
  const out = [at(layout.binDir, true), at(layout.broadcastDir, true), at(layout.inboxDir(w.container), true), at(layout.outboxDir(w.container), false)];
  if (w.kind === 'step' && w.taskId !== undefined) {
    if (w.previous !== undefined) out.push(at(layout.outboxDir(w.previous), true));
    out.push(at(layout.stepsDir(w.taskId), false));
  }
  return out;
}
