/** The builder's entry points: `build`, `validate` and `imagesToResolve`. */
import type { ExecutionPlan } from '@pipod/plan';
import { compile } from './compile.ts';
import { type FieldError, Sink } from './errors.ts';
import { type SourceFile, loadDocuments } from './load.ts';
import { type BuildOptions, DEFAULT_RUNTIME_IMAGE, type ImageConfig } from './options.ts';
import { writePod } from './pod.ts';
import type { Raw } from './read.ts';

/** Outcome of a build: a plan and a Pod, or every error found. */
export type BuildResult =
  | { readonly kind: 'ok'; readonly plan: ExecutionPlan; readonly pod: Raw; readonly warnings: readonly FieldError[] }
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[]; readonly warnings: readonly FieldError[] };

/** Builds the ExecutionPlan and the Pod for Tekton YAML sources. Pure and deterministic. */
export function build(sources: readonly SourceFile[], options: BuildOptions = {}): BuildResult {
  const sink = new Sink();
  const loaded = loadDocuments(sources);
  for (const e of loaded.errors) sink.error(e.source, e.path, e.message);
  const compiled = compile(loaded.documents, options, sink);
  if (!compiled || sink.errors.length > 0) return { kind: 'invalid', errors: sink.errors, warnings: sink.warnings };
  const pod = writePod(compiled.plan, compiled.pod, options.runtimeImage ?? DEFAULT_RUNTIME_IMAGE);
  return { kind: 'ok', plan: compiled.plan, pod, warnings: sink.warnings };
}

/** Every error of the input (empty when it builds). */
export function validate(sources: readonly SourceFile[], options: BuildOptions = {}): readonly FieldError[] {
  const r = build(sources, options);
  return r.kind === 'ok' ? [] : r.errors;
}

/**
 * The images whose Entrypoint/Cmd the build needs (steps and sidecars with
 * neither command nor script), so an async caller can look them up first.
 */
export function imagesToResolve(sources: readonly SourceFile[], options: BuildOptions = {}): string[] {
  const wanted = new Set<string>();
  const probe = {
    resolve(image: string): ImageConfig {
      wanted.add(image);
      return { entrypoint: ['/bin/true'], cmd: [] };
    },
  };
  build(sources, { ...options, imageConfigResolver: probe });
  return [...wanted].sort();
}
