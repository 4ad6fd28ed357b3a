/**
 * What `pipod run` needs from an engine that runs the generated Pod: start
 * it, report the supervisor's events, cancel on request, clean up. Both
 * engines (podman, Kubernetes) implement it with the one skeleton in run.ts
 * over a driver of their own.
 */
import type { CancelMode, ExecutionPlan, RunEvent, RunSummary } from '@pipod/plan';

export type { CancelMode };

/** The parts of a Kubernetes Pod object the runtimes read or rewrite; everything else passes through untouched. */
export interface KubePod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name?: string;
    readonly generateName?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [k: string]: unknown;
  };
  readonly spec: KubePodSpec;
  readonly [k: string]: unknown;
}

/** Pod spec fields the runtimes touch. */
export interface KubePodSpec {
  readonly volumes?: readonly KubeVolume[];
  readonly initContainers?: readonly KubeContainer[];
  readonly containers: readonly KubeContainer[];
  readonly [k: string]: unknown;
}

/** A pod volume: only the source kind matters to the runtimes. */
export interface KubeVolume {
  readonly name: string;
  readonly emptyDir?: Readonly<Record<string, unknown>>;
  readonly hostPath?: { readonly path: string; readonly type?: string };
  readonly [k: string]: unknown;
}

/** A container's mount of a pod volume. */
export interface KubeVolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
  readonly [k: string]: unknown;
}

/** Container fields the runtimes touch. */
export interface KubeContainer {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy?: string;
  readonly volumeMounts?: readonly KubeVolumeMount[];
  readonly [k: string]: unknown;
}

/** One line of output of a step or sidecar container, attributed to its task and step. */
export interface LogLine {
  readonly container: string;
  readonly task?: string;
  readonly step?: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  /** When the container wrote it (RFC 3339), when the engine says (podman does). */
  readonly time?: string;
}

/** Where a run is: before the pod exists, while it is created, scheduled and started, while it runs, and while it is cleaned up. */
export type RunPhase = 'preparing' | 'creating' | 'starting' | 'running' | 'cleaning';

/**
 * Callbacks a runtime calls while a run is in progress, in the order things
 * happened; a run store or an output renderer is an observer (or wraps one).
 */
export interface RunObserver {
  /** The run moved on (both runtimes report the same phases). */
  onPhase?(phase: RunPhase): void;
  /** Every supervisor event, in order. */
  onEvent?(event: RunEvent): void;
  /** Step and sidecar output (only when the request asked for logs). */
  onLog?(line: LogLine): void;
  /** Runtime-level notes (pod started, cleanup, cancel sent). */
  onNote?(message: string): void;
  /** Why each step last ended, by container (e.g. the command that could not start), when the engine can read it; once, before cleanup. */
  onStepMessages?(messages: Readonly<Record<string, string>>): void;
}

/** A generated Pod and its plan, plus how to run them. */
export interface RunRequest {
  readonly pod: KubePod;
  readonly plan: ExecutionPlan;
  /** Stream step/sidecar output to `onLog`. */
  readonly logs: boolean;
  /** Outer watchdog: when no summary arrived this long after the start, cancel immediately and report TimedOut. */
  readonly watchdogMs?: number;
  /** Leave the pod and its files in place after the run (debugging). */
  readonly keep?: boolean;
  /** ConfigMaps, Secrets and ServiceAccounts of the input, created with the run and removed after it (the builder's `objects`). */
  readonly objects?: readonly RunObject[];
}

/** A ConfigMap, Secret or ServiceAccount to create with the run (core `v1`; a Secret's data in base64). */
export interface RunObject {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap' | 'Secret' | 'ServiceAccount';
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

/** A run in progress. */
export interface RunHandle {
  /** Name the runtime gave the pod (unique per run). */
  readonly podName: string;
  /** Resolves with the final summary once everything is cleaned up; rejects with a PipodError when the run could not start. */
  readonly result: Promise<RunSummary>;
  /**
   * Asks the supervisor to cancel (`stop`, `graceful` or `immediate`, see the
   * plan's CancelMode); each further call escalates at least one level, the
   * last being a force kill of the pod. Safe to call at any time.
   */
  cancel(mode: CancelMode): Promise<void>;
}

/** An engine that runs a pipod Pod. */
export interface Runtime {
  readonly name: 'podman' | 'kubernetes';
  /** Starts the run; returns once the pod name is fixed (before the pod runs). */
  start(request: RunRequest, observer: RunObserver): RunHandle;
}
