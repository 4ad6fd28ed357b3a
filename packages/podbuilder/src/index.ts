/** pipod podbuilder: Tekton v1 YAML → validation → ExecutionPlan → one Pod. */
export { build, buildEach, validate, imagesToResolve, runsOf, uniqueErrors, type BuildResult } from './build.ts';
export { type KubeObject, objectFiles } from './objects.ts';
export { type FieldError, formatError, viaField, viaIndex, viaKey } from './errors.ts';
export { loadDocuments, toYaml, toJson, toCompactJson, sortKeys, type SourceFile, type LoadedDocument, type LoadResult, type DocKind, type KubeKind, KUBE_KINDS, isKubeKind } from './load.ts';
export {
  type BuildOptions, type RefResolver, type ResolvedDocument, type ImageConfig, type ImageConfigResolver, type WorkspaceOverride,
  DEFAULT_RUNTIME_IMAGE, mapImageConfigResolver, parseWorkspaceArg,
} from './options.ts';
export { documentResolver, DEFAULT_TIMEOUT_MS } from './compile.ts';
export { mapImage } from '@pipod/plan';
export { encodePlan, wrapperCommand, initCommand, DEADLINE_MARGIN_S } from './pod.ts';
export { parseDuration } from './duration.ts';
export { INPUT_LIMITS, type InputLimit, limitMessage } from './yaml-in.ts';
export * from './resources.ts';
