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

/** Where Tekton keeps a directory per step (`step-<name>/exitCode`, `step-<name>/results/`): the task's steps directory is mounted there. */
export const TEKTON_STEPS_DIR = '/tekton/steps';

/** Tekton's scratch home shared by the steps of a task. */
export const TEKTON_HOME_DIR = '/tekton/home';

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

/** A step's directory name under /tekton/steps, as Tekton names it. */
export function stepDirName(step: string): string {
  return `step-${step}`;
}

/** Every file path the builder and the runtime agree on, relative to one root. */
export class Layout {
  constructor(readonly root: string = PIPOD_ROOT) {}

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
  /** The ExecutionPlan as written by init. */
  get planFile(): string { return `${this.root}/plan.json`; }
  /** Run-time state. */
  get runDir(): string { return `${this.root}/run`; }
  /** Touched periodically by the supervisor so waiting containers can tell it is alive. */
  get heartbeat(): string { return `${this.runDir}/heartbeat`; }
  /** Written once by the supervisor when the run is over: every wrapper exits. */
  get exitFile(): string { return `${this.runDir}/exit`; }
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
  /** Directory of the containers' log copies. */
  get logsDir(): string { return `${this.runDir}/logs`; }

  /** Per-container mailbox directory. */
  containerDir(container: string): string { return `${this.runDir}/containers/${container}`; }
  /** Supervisor → wrapper: run this (a StepStart), for the given sequence number. */
  startFile(container: string, seq: number): string { return `${this.containerDir(container)}/start-${seq}.json`; }
  /** Wrapper → supervisor: finished (a StepDone), for the given sequence number. */
  doneFile(container: string, seq: number): string { return `${this.containerDir(container)}/done-${seq}.json`; }
  /** Supervisor → wrapper: stop the running process (content: reason). */
  stopFile(container: string, seq: number): string { return `${this.containerDir(container)}/stop-${seq}`; }
  /** Supervisor → wrapper: you are no longer needed, exit. */
  releaseFile(container: string): string { return `${this.containerDir(container)}/release`; }
  /** Wrapper → supervisor: liveness, touched periodically. */
  beatFile(container: string): string { return `${this.containerDir(container)}/beat`; }
  /** Sidecar wrapper → supervisor: probes passed. */
  readyFile(container: string): string { return `${this.containerDir(container)}/ready`; }
  /** Where a start message's script is written before it runs (one per sequence number). */
  scriptFile(container: string, seq: number): string { return `${this.containerDir(container)}/script-${seq}`; }
  /** Exit code file of the wrapper's warm-up run (never a step's). */
  warmUpExitCodeFile(container: string): string { return `${this.containerDir(container)}/.warm-up-exit-code`; }
  /** Copy of a container's output, so it can be read without the container runtime. */
  logFile(container: string): string { return `${this.runDir}/logs/${container}.log`; }

  /** Per-task state directory (taskId is the plan task's `id`). */
  taskDir(taskId: string): string { return `${this.runDir}/tasks/${taskId}`; }
  /** The task's results directory, relative to the volume (for a subPath mount at /tekton/results). */
  taskResultsSubPath(taskId: string): string { return `run/tasks/${taskId}/results`; }
  /** The task's results directory. */
  taskResultsDir(taskId: string): string { return `${this.taskDir(taskId)}/results`; }
  /** One result file of a task. */
  taskResultFile(taskId: string, result: string): string { return `${this.taskResultsDir(taskId)}/${result}`; }
  /** Parent of a task's step directories. */
  stepsDir(taskId: string): string { return `${this.taskDir(taskId)}/steps`; }
  /** The task's steps directory, relative to the volume (for a subPath mount at /tekton/steps). */
  taskStepsSubPath(taskId: string): string { return `run/tasks/${taskId}/steps`; }
  /** The task's home directory, relative to the volume (for a subPath mount at /tekton/home). */
  taskHomeSubPath(taskId: string): string { return `run/tasks/${taskId}/home`; }
  /** The task's home directory. */
  taskHomeDir(taskId: string): string { return `${this.taskDir(taskId)}/home`; }
  /** A step's directory within its task: exit code and step results; named `step-<name>` as Tekton's /tekton/steps entries. */
  stepDir(taskId: string, step: string): string { return `${this.taskDir(taskId)}/steps/${stepDirName(step)}`; }
  /** Where `$(steps.<step>.exitCode.path)` points. */
  stepExitCodeFile(taskId: string, step: string): string { return `${this.stepDir(taskId, step)}/exitCode`; }
  /** A step's results directory (`$(step.results.<r>.path)`). */
  stepResultsDir(taskId: string, step: string): string { return `${this.stepDir(taskId, step)}/results`; }
  /** One result file of a step. */
  stepResultFile(taskId: string, step: string, result: string): string { return `${this.stepResultsDir(taskId, step)}/${result}`; }
}

/** The layout at the in-pod root. */
export const podLayout = new Layout(PIPOD_ROOT);
