/** What the compiler's stages hand each other and the Pod writer. */
import type { ExecutionPlan } from '@pipod/plan';
import type { PipelineSpec, PipelineTaskSpec, RunSpec, TaskSpec } from '../model.ts';
import type { Raw } from '../read.ts';

/** A container of the Pod as the compiler decided it (the Pod writer adds the wrapper command). */
export interface ContainerOut {
  readonly name: string;
  readonly kind: 'step' | 'sidecar';
  readonly task: string;
  readonly member: string;
  readonly image: string;
  readonly env: readonly Raw[];
  readonly envFrom?: unknown;
  readonly computeResources?: Raw;
  readonly securityContext?: Raw;
  readonly imagePullPolicy?: string;
  readonly ports?: unknown;
  readonly volumeMounts: readonly Raw[];
}

/** Everything the Pod writer needs besides the plan. */
export interface PodParts {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly serviceAccountName?: string;
  readonly podTemplate?: Raw;
  readonly containers: readonly ContainerOut[];
  readonly volumes: readonly Raw[];
}

/** Plan and pod parts of a valid input. */
export interface Compiled {
  readonly plan: ExecutionPlan;
  readonly pod: PodParts;
}

/** One pipeline task with its Task resolved. */
export interface Resolved {
  readonly pt: PipelineTaskSpec;
  readonly spec: TaskSpec | undefined;
  readonly embedded: boolean;
  readonly taskName: string;
}

/** The root of the build and what it runs. */
export interface Root {
  readonly pipeline: PipelineSpec;
  readonly pipelineName: string;
  readonly run?: RunSpec;
  /** Set when the whole run is one TaskRun (its name is the TaskRun's name). */
  readonly taskRunName?: string;
  /** The pipeline was made up around a Task: its params are typed by construction. */
  readonly synthesized?: boolean;
}

/** Quoted names for messages, or `none`. */
export function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');
}
