/** The typed specs the readers produce from Tekton v1 objects. */
import type { ParamValue, PlanProbe, ValueType } from '@pipod/plan';
import type { Raw } from '../read.ts';
/** A declared param. */
export interface ParamSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly default?: ParamValue;
  /** Keys of an object param. */
  readonly keys?: readonly string[];
  readonly enum?: readonly string[];
  readonly path: string;
}

/** A param value given by a pipeline task or a run. */
export interface ParamEntry {
  readonly name: string;
  readonly value?: ParamValue;
  readonly path: string;
}

/** A workspace a Task declares. */
export interface TaskWorkspaceSpec {
  readonly name: string;
  readonly mountPath?: string;
  readonly readOnly: boolean;
  readonly optional: boolean;
  readonly path: string;
}

/** A declared task or step result. */
export interface ResultSpec {
  readonly name: string;
  readonly type: ValueType;
  /** A task result's `value`: `$(steps.<s>.results.<r>)`, the step result it takes. */
  readonly value?: string;
  readonly path: string;
}

/** An env entry of a step or sidecar. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Raw;
  readonly path: string;
}

/** A volumeMount of a step or sidecar. */
export interface MountSpec {
  readonly name: string;
  readonly mountPath: string;
  readonly raw: Raw;
  readonly path: string;
}

/** A step or a sidecar after the stepTemplate is applied. */
export interface ContainerSpec {
  readonly kind: 'step' | 'sidecar';
  readonly index: number;
  readonly path: string;
  readonly name: string;
  readonly image?: string;
  readonly imagePath: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly script?: string;
  readonly workingDir?: string;
  readonly env: readonly EnvVar[];
  readonly envFrom?: unknown;
  readonly volumeMounts: readonly MountSpec[];
  readonly computeResources?: Raw;
  readonly securityContext?: Raw;
  readonly imagePullPolicy?: string;
  readonly ports?: unknown;
  readonly onError?: 'continue' | 'stopAndFail';
  readonly timeoutMs?: number;
  readonly results: readonly ResultSpec[];
  readonly readinessProbe?: PlanProbe;
  readonly startupProbe?: PlanProbe;
  /** A step that runs a StepAction: what it names and the params it passes (compile/stepactions.ts fills in the rest). */
  readonly ref?: NamedRef;
  readonly params?: readonly ParamEntry[];
  /** Step `when` expressions: the step is skipped unless all hold. */
  readonly when?: readonly WhenSpec[];
  /** Isolated workspaces: a task workspace named here is mounted only in the steps and sidecars that name it. */
  readonly workspaces?: readonly { readonly name: string; readonly mountPath?: string; readonly path: string }[];
}

/** A StepAction's spec: a reusable step with its own params and results. */
export interface StepActionSpec {
  readonly source: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly script?: string;
  readonly workingDir?: string;
  readonly env: readonly EnvVar[];
  readonly volumeMounts: readonly MountSpec[];
  readonly securityContext?: Raw;
  readonly params: readonly ParamSpec[];
  readonly results: readonly ResultSpec[];
}

/** A volume of a Task. */
export interface VolumeSpec {
  readonly name: string;
  readonly raw: Raw;
  readonly path: string;
}

/** A Task's spec (from a Task document, a TaskRun or a pipeline task's taskSpec). */
export interface TaskSpec {
  readonly source: string;
  readonly path: string;
  readonly displayName?: string;
  readonly params: readonly ParamSpec[];
  readonly workspaces: readonly TaskWorkspaceSpec[];
  readonly results: readonly ResultSpec[];
  readonly steps: readonly ContainerSpec[];
  readonly sidecars: readonly ContainerSpec[];
  readonly volumes: readonly VolumeSpec[];
}

/** A reference by name with where it was written. */
export interface NamedRef {
  readonly name: string;
  readonly path: string;
}

/** How a pipeline task binds a task workspace. */
export interface TaskWorkspaceBinding {
  readonly name: string;
  readonly workspace: string;
  readonly subPath?: string;
  readonly path: string;
}

/** A `when` expression as written. */
export interface WhenSpec {
  readonly input: string;
  readonly operator: 'in' | 'notin';
  readonly values: readonly string[];
  readonly path: string;
}

/** One explicit combination of a matrix (`matrix.include[i]`). */
export interface MatrixInclude {
  readonly name?: string;
  readonly params: readonly ParamEntry[];
  readonly path: string;
}

/** A pipeline task's matrix: array params fanned out into a cartesian product, plus explicit combinations. */
export interface MatrixSpec {
  readonly params: readonly ParamEntry[];
  readonly include: readonly MatrixInclude[];
  readonly path: string;
}

/** A pipeline task (in `tasks` or `finally`). */
export interface PipelineTaskSpec {
  readonly index: number;
  readonly isFinally: boolean;
  readonly path: string;
  readonly name: string;
  readonly displayName?: string;
  readonly taskRef?: NamedRef;
  readonly taskSpec?: TaskSpec;
  readonly runAfter: readonly NamedRef[];
  readonly params: readonly ParamEntry[];
  readonly workspaces: readonly TaskWorkspaceBinding[];
  readonly when: readonly WhenSpec[];
  readonly timeoutMs?: number;
  readonly retries: number;
  readonly onError: 'continue' | 'stopAndFail';
  readonly matrix?: MatrixSpec;
  /** A child pipeline (pipelines in pipelines), flattened into the parent by nested.ts. */
  readonly pipelineRef?: NamedRef;
  readonly pipelineSpec?: PipelineSpec;
  /** Set on a flattened child's finally task: it runs when the child's tasks have settled, whatever their outcome. */
  readonly finallyOf?: string;
  /** Labels and annotations of an embedded taskSpec (`taskSpec.metadata`), for the TaskRun and so the pod. */
  readonly metadata?: TaskMetadata;
  /** The whole pipeline task as written, scanned for `$(tasks.…)` references. */
  readonly raw: Raw;
}

/** Labels and annotations Tekton puts on a task's TaskRun and Pod (`taskSpec.metadata`, `taskRunSpecs[].metadata`). */
export interface TaskMetadata {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly path: string;
}

/** The parts of a pod template that are per container rather than per pod: env for every step, volumes its containers may mount. */
export interface TemplateParts {
  readonly env: readonly EnvVar[];
  readonly volumes: readonly VolumeSpec[];
  /** Field path of the template. */
  readonly path: string;
}

/** A pipeline workspace declaration. */
export interface PipelineWorkspaceSpec {
  readonly name: string;
  readonly optional: boolean;
  readonly path: string;
}

/** A pipeline result. */
export interface PipelineResultSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly value?: ParamValue;
  readonly path: string;
}

/** A Pipeline's spec. */
export interface PipelineSpec {
  readonly source: string;
  readonly path: string;
  readonly params: readonly ParamSpec[];
  readonly workspaces: readonly PipelineWorkspaceSpec[];
  readonly tasks: readonly PipelineTaskSpec[];
  readonly finally: readonly PipelineTaskSpec[];
  readonly results: readonly PipelineResultSpec[];
  /** Pipeline-level sidecars (TEP-0130's proposal): live for the whole run. */
  readonly sidecars: readonly ContainerSpec[];
}

/** What a run binds a workspace to. */
export type Binding =
  | { readonly kind: 'emptyDir'; readonly spec: Raw }
  | { readonly kind: 'persistentVolumeClaim'; readonly claimName: string; readonly readOnly: boolean }
  | { readonly kind: 'configMap'; readonly spec: Raw }
  | { readonly kind: 'secret'; readonly spec: Raw }
  | { readonly kind: 'projected'; readonly spec: Raw }
  | { readonly kind: 'csi'; readonly spec: Raw }
  | { readonly kind: 'volumeClaimTemplate'; readonly spec: Raw }
  | { readonly kind: 'hostPath'; readonly path: string };

/** A workspace binding of a run. */
export interface RunWorkspace {
  readonly name: string;
  readonly binding: Binding;
  readonly subPath?: string;
  readonly path: string;
}

/** A PipelineRun or TaskRun. */
export interface RunSpec {
  readonly kind: 'PipelineRun' | 'TaskRun';
  readonly source: string;
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly pipelineRef?: NamedRef;
  readonly pipelineSpec?: PipelineSpec;
  readonly taskRef?: NamedRef;
  readonly taskSpec?: TaskSpec;
  readonly params: readonly ParamEntry[];
  readonly workspaces: readonly RunWorkspace[];
  /** Pipeline (or TaskRun) timeout in ms; undefined = Tekton's default, 0 = none. */
  readonly timeoutMs?: number;
  readonly tasksTimeoutMs?: number;
  readonly finallyTimeoutMs?: number;
  readonly timeoutPath: string;
  readonly retries?: number;
  readonly serviceAccountName?: string;
  /** The pod-wide fields of the pod template (env and volumes are in `template`). */
  readonly podTemplate?: Raw;
  readonly template?: TemplateParts;
  readonly taskRunSpecs: readonly TaskRunSpecs[];
}

/**
 * What a PipelineRun's `taskRunSpecs[]` entry (or a TaskRun's own spec, for
 * its one task) sets for one pipeline task.
 */
export interface TaskRunSpecs {
  readonly pipelineTaskName: string;
  readonly serviceAccountName?: string;
  readonly sidecars: readonly ContainerSpec[];
  readonly sidecarSpecs: readonly SidecarSpecOverride[];
  readonly stepSpecs: readonly SidecarSpecOverride[];
  /** Task-level `computeResources` (Tekton's beta TEP-0104). */
  readonly computeResources?: Raw;
  readonly podTemplate?: Raw;
  /** `taskRunSpecs[].timeout`: replaces the pipeline task's timeout, as Tekton's TaskRun timeout. */
  readonly timeoutMs?: number;
  readonly template?: TemplateParts;
  readonly metadata?: TaskMetadata;
  /** The entry's field path: `spec.taskRunSpecs[i]`, or `spec` of a TaskRun. */
  readonly path: string;
}

/** A `taskRunSpecs[].sidecarSpecs` entry: new computeResources for a sidecar of the task. */
export interface SidecarSpecOverride {
  readonly name: string;
  readonly computeResources?: Raw;
  readonly path: string;
}
