/**
 * Parsing Tekton v1 objects into typed specs, checking every field against
 * the allow-lists (model/fields.ts). Only what a document says on its own is
 * checked here; cross-document rules live in compile/.
 */
export * from './model/types.ts';
export { POD_TEMPLATE } from './model/fields.ts';
export { readMetadata, readParams, readSidecars, readSidecarSpecs, readStepActionSpec } from './model/read-common.ts';
export { readPipelineSpec, readRun, readTaskSpec } from './model/read-specs.ts';
