/**
 * The ExecutionPlan: the contract between the builder (which decides all it
 * can before the Pod starts) and the supervisor (which decides the rest at run
 * time). Strings may still hold Tekton run-time references such as
 * `$(tasks.a.results.b)`; the supervisor substitutes them, nobody else.
 */

/** API version of the plan document. */
export const PLAN_API_VERSION = 'pipod.dev/v1alpha1';

/** Bumped on every incompatible change of the schema below. */
export const PLAN_SCHEMA_VERSION = 1;

/** A Tekton param or result value. */
export type ParamValue = string | readonly string[] | Readonly<Record<string, string>>;

/** The type of a param or result as Tekton declares it. */
export type ValueType = 'string' | 'array' | 'object';

/** Who started the run and what it is called (context.* variables). */
export interface PlanRun {
  readonly pipelineRunName: string;
  readonly namespace: string;
  readonly uid: string;
  readonly pipelineName: string;
  readonly serviceAccountName?: string;
  /**
   * When the run started (RFC 3339): the controller's or CLI's clock as it
   * built the pod. `timeouts.pipelineMs`/`tasksMs` count from it, as Tekton's
   * count from the PipelineRun's start; absent, from the supervisor's start.
   */
  readonly startTime?: string;
}

/** Run-level time budgets in milliseconds; absent means no limit. */
export interface PlanTimeouts {
  readonly pipelineMs?: number;
  readonly tasksMs?: number;
  readonly finallyMs?: number;
}

/** A `when` expression; input and values may hold run-time references. */
export interface PlanWhen {
  readonly input: string;
  readonly operator: 'in' | 'notin';
  readonly values: readonly string[];
}

/** A declared result. */
export interface PlanResultDecl {
  readonly name: string;
  readonly type: ValueType;
  /** A task result whose `value` is `$(steps.<step>.results.<result>)`: that step result becomes it once the steps ended. */
  readonly fromStep?: { readonly step: string; readonly result: string };
}

/** An environment variable whose value needs run-time substitution. */
export interface PlanEnv {
  readonly name: string;
  readonly value: string;
}

/** One step: runs in its own container, started by the supervisor. */
export interface PlanStep {
  /** Step name as written in the Task. */
  readonly name: string;
  /** Container name in the Pod (DNS-1123 label, unique in the Pod). */
  readonly container: string;
  readonly image: string;
  /** Command and args after static substitution; empty command means the image's entrypoint was resolved into it by the builder. */
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Script body after static substitution; when set, command/args hold the script's arguments only. */
  readonly script?: string;
  /** Environment entries that hold run-time references (others live in the container spec). */
  readonly env: readonly PlanEnv[];
  readonly workingDir?: string;
  readonly onError: 'continue' | 'stopAndFail';
  readonly timeoutMs?: number;
  readonly results: readonly PlanResultDecl[];
  /** Step `when` expressions, evaluated just before the step would start; absent means always. */
  readonly when?: readonly PlanWhen[];
  /**
   * Set by the builder when the step's command, args, env, script or
   * workingDir read an earlier step's result (`$(steps.<s>.results.<r>)`); absent means it reads
   * none, or (in a plan from an older builder) that the runtime must look.
   */
  readonly readsStepResults?: boolean;
}

/** A sidecar: wrapped, started with its scope, stopped when the scope ends. */
export interface PlanSidecar {
  readonly name: string;
  readonly container: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly script?: string;
  readonly env: readonly PlanEnv[];
  readonly workingDir?: string;
  readonly readinessProbe?: PlanProbe;
  readonly startupProbe?: PlanProbe;
  readonly terminationGraceMs: number;
}

/** A probe with Kubernetes' timing fields, run by the sidecar wrapper. */
export interface PlanProbe {
  readonly handler:
    | { readonly kind: 'exec'; readonly command: readonly string[] }
    | { readonly kind: 'httpGet'; readonly host: string; readonly port: number; readonly path: string; readonly scheme: 'HTTP' | 'HTTPS'; readonly headers: readonly PlanEnv[] }
    | { readonly kind: 'tcpSocket'; readonly host: string; readonly port: number }
    | { readonly kind: 'grpc'; readonly port: number; readonly service?: string };
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

/** One pipeline task (or one instance of a matrixed task). */
export interface PlanTask {
  /** Qualified pipeline task name (`parent.child` when nested); key in summaries and events. */
  readonly name: string;
  /** DNS-safe unique id used for directories and container names. */
  readonly id: string;
  readonly displayName?: string;
  /** Name of the referenced Task, when there was one. */
  readonly taskRef?: string;
  /** Names of tasks (in the same list) that must finish first: runAfter plus result references. */
  readonly dependsOn: readonly string[];
  readonly when: readonly PlanWhen[];
  readonly retries: number;
  readonly timeoutMs?: number;
  /** Set on a finally task of a child pipeline (qualified name of that pipeline task): it runs once its dependencies settle, whatever their outcome. */
  readonly finallyOf?: string;
  /**
   * Set when the builder already knows the task cannot run: `EmptyArrayInMatrixParams`
   * for a matrix with an empty param array (Tekton skips it, and its dependents
   * as for any skip that is not a `when`'s). Such a task has no steps.
   */
  readonly skip?: 'EmptyArrayInMatrixParams';
  /** Task-level onError: `continue` lets the pipeline go on when the task fails. */
  readonly onError: 'stopAndFail' | 'continue';
  /** The task's params after static substitution (may hold run-time references). */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly results: readonly PlanResultDecl[];
  readonly steps: readonly PlanStep[];
  readonly sidecars: readonly PlanSidecar[];
  /**
   * The task results this task reads (params, when, steps, sidecars), in
   * order of first use, as the builder found them; absent means none, or (in
   * a plan from an older builder) that the runtime must look.
   */
  readonly consumes?: readonly PlanResultRef[];
  /** Labels and annotations of the task's TaskRun (`taskSpec.metadata`, `taskRunSpecs[].metadata`); absent when none. */
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
}

/** One task result a task consumes. */
export interface PlanResultRef {
  readonly task: string;
  readonly result: string;
}

/** A pipeline result: a value template over task results. */
export interface PlanPipelineResult {
  readonly name: string;
  readonly type: ValueType;
  readonly value: ParamValue;
}

/** Knobs of the runtime that the builder sets. */
export interface PlanSettings {
  /** Time between SIGTERM and SIGKILL for a step that must stop. */
  readonly stepGraceMs: number;
  /** How often the supervisor and wrappers touch their heartbeat files. */
  readonly heartbeatMs: number;
  /** A heartbeat older than this means its writer is gone. */
  readonly staleMs: number;
  /**
   * A step's wrapper that has not beaten once this long after the supervisor
   * began waiting for it never started (default 5 minutes: the kubelet starts
   * containers one by one, pulling images). The runtime's dead fact
   * (`Layout.deadFile`) is the fast path; this is the rule without one.
   */
  readonly startupMs?: number;
  /**
   * `false` stops the supervisor from writing a step's start ahead (see
   * `StartMessage.after`); every handoff then goes through the supervisor.
   * The handoff bench runs both ways.
   */
  readonly armNextStep?: boolean;
}

/** The whole plan. */
export interface ExecutionPlan {
  readonly apiVersion: typeof PLAN_API_VERSION;
  readonly kind: 'ExecutionPlan';
  readonly schemaVersion: typeof PLAN_SCHEMA_VERSION;
  readonly run: PlanRun;
  readonly timeouts: PlanTimeouts;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly tasks: readonly PlanTask[];
  readonly finally: readonly PlanTask[];
  readonly results: readonly PlanPipelineResult[];
  /** Pipeline-level sidecars: live for the whole run. */
  readonly sidecars: readonly PlanSidecar[];
  readonly settings: PlanSettings;
  /**
   * Pipeline tasks that became several plan tasks — a matrix's instances, a
   * child pipeline's tasks — by name, so `$(tasks.<name>.status)` can answer
   * for all of them.
   */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
}

/** Default runtime knobs. */
export const DEFAULT_SETTINGS: PlanSettings = { stepGraceMs: 5000, heartbeatMs: 2000, staleMs: 30000 };
