/**
 * Field errors with Tekton-style paths (`spec.tasks[2].params[0].value`),
 * collected in a sink so validation reports every problem, not the first.
 */

/**
 * One problem in the input. `source` names the document (`Pipeline/build`,
 * or a file name for load errors, or `options` for build options); `path`
 * is the field inside it, empty when the whole document is meant.
 */
export interface FieldError {
  readonly source: string;
  readonly path: string;
  readonly message: string;
}

/** Appends a field name to a path. */
export function viaField(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** Appends a list index to a path. */
export function viaIndex(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Appends a map key to a path, Tekton style (`labels[app]`). */
export function viaKey(path: string, key: string): string {
  return `${path}[${key}]`;
}

/** The one-line form a user sees: `source: path: message`. */
export function formatError(e: FieldError): string {
  return [e.source, e.path, e.message].filter((s) => s !== '').join(': ');
}

/** Collects errors and warnings for one build; a sink scoped to a document via `at`. */
export class Sink {
  readonly errors: FieldError[] = [];
  readonly warnings: FieldError[] = [];
  private readonly seen = new Set<string>();

  /** Records an error (the same error twice is kept once: a Task used by two pipeline tasks is checked twice). */
  error(source: string, path: string, message: string): void {
    const key = `${source}\u0000${path}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.errors.push({ source, path, message });
  }

  /** Records a warning. */
  warn(source: string, path: string, message: string): void {
    const key = `w${source}\u0000${path}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.warnings.push({ source, path, message });
  }

  /** A view that reports into this sink for one document. */
  at(source: string): DocSink {
    return new DocSink(this, source);
  }
}

/** Reports errors for one document. */
export class DocSink {
  constructor(readonly sink: Sink, readonly source: string) {}
  /** Records an error at a path of this document. */
  error(path: string, message: string): void { this.sink.error(this.source, path, message); }
  /** Records a warning at a path of this document. */
  warn(path: string, message: string): void { this.sink.warn(this.source, path, message); }
}
