/** pipod podbuilder: Tekton v1 YAML → validation → ExecutionPlan → one Pod. */
export { build, validate, imagesToResolve, type BuildResult } from './build.ts';
export { type FieldError, formatError, viaField, viaIndex, viaKey } from './errors.ts';
export { loadDocuments, toYaml, toJson, toCompactJson, sortKeys, type SourceFile, type LoadedDocument, type LoadResult, type DocKind } from './load.ts';
export {
  type BuildOptions, type RefResolver, type ResolvedDocument, type ImageConfig, type ImageConfigResolver, type WorkspaceOverride,
  DEFAULT_RUNTIME_IMAGE, mapImageConfigResolver, parseWorkspaceArg,
} from './options.ts';
export { documentResolver, DEFAULT_TIMEOUT_MS } from './compile.ts';
export { mapImage } from '@pipod/plan';
export { encodePlan, wrapperCommand, initCommand, DEADLINE_MARGIN_S } from './pod.ts';
export { parseDuration } from './duration.ts';
export * from './resources.ts';
