/**
 * Build options and the injected resolvers that keep the builder pure: task
 * and pipeline references, and image configurations (entrypoint/cmd).
 */
import type { PeakRequestOptions } from './resources.ts';
import type { ParamValue } from '@pipod/plan';
import type { Raw } from './read.ts';

/** A document a reference resolved to. */
export interface ResolvedDocument {
  /** `Kind/name`, used as the source of the document's errors. */
  readonly source: string;
  readonly body: Raw;
}

/**
 * Resolves `taskRef`/`pipelineRef` by name. The default resolves against the
 * documents given; cluster or bundle resolvers can implement the same interface
 * (fetch beforehand: the builder is synchronous and pure).
 */
export interface RefResolver {
  /** The Task of that name, or undefined. */
  task(name: string): ResolvedDocument | undefined;
  /** The Pipeline of that name, or undefined. */
  pipeline(name: string): ResolvedDocument | undefined;
  /** The StepAction of that name, or undefined (absent: steps with ref cannot be resolved). */
  stepAction?(name: string): ResolvedDocument | undefined;
}

/** An image's configured Entrypoint and Cmd. */
export interface ImageConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

/**
 * Looks up an image's Entrypoint/Cmd for steps and sidecars that give neither
 * command nor script. Synchronous: callers that need I/O (registry, podman)
 * resolve the images from `imagesToResolve` first and pass a map-backed resolver.
 * Return undefined or throw when the image is unknown.
 */
export interface ImageConfigResolver {
  resolve(image: string): ImageConfig | undefined;
}

/** What a workspace is bound to when given on the command line (overrides the run's binding). */
export type WorkspaceOverride =
  | { readonly kind: 'emptyDir' }
  | { readonly kind: 'hostPath'; readonly path: string }
  | { readonly kind: 'persistentVolumeClaim'; readonly claimName: string }
  | { readonly kind: 'configMap'; readonly name: string }
  | { readonly kind: 'secret'; readonly name: string };

/** Everything `build` can be told besides the documents. */
export interface BuildOptions {
  /** Pipeline param overrides; strings are converted to the declared type (array: JSON or comma-separated; object: JSON or k=v,…). */
  readonly params?: Readonly<Record<string, ParamValue>>;
  /** Workspace binding overrides by pipeline workspace name. */
  readonly workspaces?: Readonly<Record<string, WorkspaceOverride>>;
  /** Image carrying Node and the entrypoint bundle (default `localhost/pipod/runtime:0.1.0`). */
  readonly runtimeImage?: string;
  /** Pod name (default `<run>-pod`). */
  readonly podName?: string;
  /** PipelineRun name (default: the run's name, else `<pipeline>-run`). */
  readonly runName?: string;
  /** Namespace (default: the run's, else `default`). */
  readonly namespace?: string;
  /** Run uid for `$(context.pipelineRun.uid)` (default: derived from namespace and run name). */
  readonly uid?: string;
  /** When the run started (RFC 3339), carried in the plan; the run-level timeouts count from it (default: from the supervisor's start). */
  readonly startTime?: string;
  /** Which run to build when the input holds several PipelineRuns/TaskRuns: its position among them (see `runsOf`); without it several runs are an error. */
  readonly runIndex?: number;
  /** Resolver for taskRef/pipelineRef (default: the documents given). */
  readonly resolver?: RefResolver;
  /** Resolver for image entrypoints (no default: steps without command or script are then errors). */
  readonly imageConfigResolver?: ImageConfigResolver;
  /** Image rewrites by prefix, FROM → TO (longest prefix wins). */
  readonly imageMap?: Readonly<Record<string, string>>;
  /** How the pod requests its peak concurrent demand (container requests by default; see docs/architecture.md, Resources). */
  readonly podResources?: PeakRequestOptions;
}

/** Default runtime image. */
export const DEFAULT_RUNTIME_IMAGE = 'localhost/pipod/runtime:0.1.0';

/** An ImageConfigResolver over a fixed map of image → config. */
export function mapImageConfigResolver(configs: Readonly<Record<string, ImageConfig>>): ImageConfigResolver {
  return { resolve: (image) => (Object.prototype.hasOwnProperty.call(configs, image) ? configs[image] : undefined) };
}

/** Parses a `-w` value: `name=emptyDir`, `name=hostPath=DIR`, `name=pvc=CLAIM`, `name=configMap=NAME`, `name=secret=NAME`. */
export function parseWorkspaceArg(arg: string): { name: string; override: WorkspaceOverride } | { error: string } {
  const m = /^([^=]+)=([^=]+)(?:=(.*))?$/.exec(arg);
  if (!m) return { error: `invalid workspace "${arg}": use name=emptyDir, name=hostPath=DIR, name=pvc=CLAIM, name=configMap=NAME or name=secret=NAME` };
  const name = m[1] ?? '';
  const kind = m[2] ?? '';
  const value = m[3] ?? '';
  if (kind === 'emptyDir' && value === '') return { name, override: { kind: 'emptyDir' } };
  if (value === '') return { error: `invalid workspace "${arg}": ${kind} needs a value (${name}=${kind}=VALUE)` };
  if (kind === 'hostPath') return { name, override: { kind: 'hostPath', path: value } };
  if (kind === 'pvc' || kind === 'persistentVolumeClaim') return { name, override: { kind: 'persistentVolumeClaim', claimName: value } };
  if (kind === 'configMap') return { name, override: { kind: 'configMap', name: value } };
  if (kind === 'secret') return { name, override: { kind: 'secret', name: value } };
  return { error: `invalid workspace "${arg}": unknown kind "${kind}" (emptyDir, hostPath, pvc, configMap, secret)` };
}
