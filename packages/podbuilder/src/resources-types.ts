/** The shapes `planPeakRequests` reads and the explanation it returns. */
import { PipodError } from '@pipod/plan';
import type { FieldProblem, ResourceList } from './resources-quantity.ts';

/** The `resources` of a container or (PodLevelResources) of a Pod, as Kubernetes JSON. */
export interface PodResources {
  readonly requests?: ResourceList;
  readonly limits?: ResourceList;
  readonly [key: string]: unknown;
}

/** The part of a Kubernetes container this module reads and writes. */
export interface PodContainer {
  readonly name: string;
  readonly resources?: PodResources;
  readonly [key: string]: unknown;
}

/** The part of a Kubernetes Pod this module reads and writes. */
export interface PodObject {
  readonly spec: {
    readonly containers: readonly PodContainer[];
    readonly initContainers?: readonly PodContainer[];
    readonly resources?: PodResources;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/** The namespace's LimitRange item of type `Container`, when known (as `kubectl get limitrange -o json` shows it). */
export interface ContainerLimitRange {
  readonly min?: ResourceList;
  readonly max?: ResourceList;
  readonly default?: ResourceList;
  readonly defaultRequest?: ResourceList;
}

/** How the peak is put on the Pod. */
export interface PeakRequestOptions {
  /**
   * `containers` (default): container requests sum to the peak (works on
   * every Kubernetes). `pod`: cpu and memory requests go to `spec.resources`
   * (PodLevelResources, alpha in 1.32, beta in 1.34) and container requests
   * for them become 0; other resources fall back to `containers`.
   */
  readonly strategy?: 'containers' | 'pod';
  /** The namespace LimitRange of type Container; unknown means none is assumed (see docs). */
  readonly limitRange?: ContainerLimitRange;
  /**
   * What the waiting pipod wrapper costs in each step and sidecar container
   * (it lives for the whole run, beside the user's process while that runs),
   * e.g. `{memory: '8Mi'}`; counted as always live. Default: nothing.
   */
  readonly wrapperOverhead?: ResourceList;
}

/** Kubernetes QoS class of a Pod. */
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** One container's share of a resource in the explanation. */
export interface ExplainedShare {
  readonly container: string;
  readonly request: string;
}

/** How one resource's pod request came about. */
export interface ExplainedResource {
  readonly resource: string;
  /** What Kubernetes reserves for the Pod as built: max(sum of containers, largest init container). */
  readonly asWritten: string;
  /** The always-live part plus the heaviest set of tasks that can run together. */
  readonly peak: string;
  /** What the rewritten Pod reserves (scheduler view, including init containers and LimitRange minimums). */
  readonly podRequest: string;
  /** Supervisor, pipeline sidecars and containers the plan does not know. */
  readonly always: string;
  readonly tasksPeak: string;
  readonly finallyPeak: string;
  readonly phase: 'tasks' | 'finally' | 'none';
  /** The tasks that overlap at the peak, each with its demand. */
  readonly overlapping: readonly { readonly task: string; readonly demand: string }[];
  /** False for resources left as written (extended resources, hugepages). */
  readonly rewritten: boolean;
  /** Where the request now sits: container requests above zero, or `spec.resources`. */
  readonly placement: readonly ExplainedShare[];
  readonly notes: readonly string[];
}

/** A task's demand and where it comes from. */
export interface ExplainedTask {
  readonly name: string;
  readonly phase: 'tasks' | 'finally';
  readonly dependsOn: readonly string[];
  /** Max over the steps plus the sum of the sidecars, per resource. */
  readonly demand: Readonly<Record<string, string>>;
  readonly steps: readonly { readonly container: string; readonly step: string; readonly requests: Readonly<Record<string, string>> }[];
  readonly sidecars: readonly { readonly container: string; readonly sidecar: string; readonly requests: Readonly<Record<string, string>> }[];
}

/** A container that is not a task's (supervisor, pipeline sidecar, unmapped, init). */
export interface ExplainedContainer {
  readonly container: string;
  readonly role: 'supervisor' | 'pipeline-sidecar' | 'unmapped' | 'init' | 'wrappers';
  readonly requests: Readonly<Record<string, string>>;
}

/** The structured answer of `pipod build --explain-resources`. */
export interface ResourceExplanation {
  readonly strategy: 'containers' | 'pod';
  readonly resources: readonly ExplainedResource[];
  readonly tasks: readonly ExplainedTask[];
  readonly always: readonly ExplainedContainer[];
  readonly init: readonly ExplainedContainer[];
  readonly qos: { readonly before: QosClass; readonly after: QosClass };
  readonly warnings: readonly string[];
}

/** The Pod and the plan disagree, or the Pod holds quantities Kubernetes would reject. */
export class ResourceError extends PipodError {
  constructor(readonly problems: readonly FieldProblem[]) {
    super('E_RESOURCES', problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'ResourceError';
  }
}
