/**
 * Reading YAML within limits. Every limit is checked while the input is read,
 * before anything can grow without bound: the size of the text, the nesting
 * depth (the YAML composer and everything after it recurse once per level),
 * the number of documents, anchors and aliases, and the values aliases add
 * (a "billion laughs" document is a few hundred bytes).
 */
import { type CST, Composer, type Document, LineCounter, Lexer, type Node, Parser, isAlias, isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import { type FieldError, viaField, viaIndex } from './errors.ts';

const MiB = 1024 * 1024;

/** The limits of one build's input; docs/features.md lists them for users. */
export const INPUT_LIMITS = {
  // A Pod is at most 1.5 MiB (etcd) and the largest real inputs are a few hundred KiB;
  // the `yaml` parser spends about a second of CPU per MiB.
  /** Bytes of one file (UTF-8). */
  fileBytes: 4 * MiB,
  /** Bytes of all files of one build together. */
  totalBytes: 8 * MiB,
  /** Documents of all files together. */
  documents: 1000,
  /** Mappings and lists inside each other, counted after aliases are expanded. */
  depth: 100,
  /** Anchors (`&a`) of one document. */
  anchors: 1000,
  /** Aliases (`*a`) of one document. */
  aliases: 1000,
  /** Values (scalars, mappings, lists) that the aliases of one document add when expanded. */
  aliasValues: 100_000,
} as const;

/** One of the input limits. */
export type InputLimit = keyof typeof INPUT_LIMITS;

const BROKEN: Readonly<Record<InputLimit, string>> = {
  fileBytes: `the file is larger than ${INPUT_LIMITS.fileBytes / MiB} MiB`,
  totalBytes: `the files are larger than ${INPUT_LIMITS.totalBytes / MiB} MiB together`,
  documents: `more than ${INPUT_LIMITS.documents} documents in one build`,
  depth: `mappings and lists nested more than ${INPUT_LIMITS.depth} deep`,
  anchors: `more than ${INPUT_LIMITS.anchors} anchors in one document`,
  aliases: `more than ${INPUT_LIMITS.aliases} aliases in one document`,
  aliasValues: `aliases expand to more than ${INPUT_LIMITS.aliasValues} values in one document`,
};

/** The message of a broken limit (`at`: where in the text, when known), shared by the CLI, which stops reading at the size limits, and the loader. */
export function limitMessage(limit: InputLimit, at?: string): string {
  return `input limit exceeded${at !== undefined ? ` at ${at}` : ''}: ${BROKEN[limit]}`;
}

/** What one build may still read: shared by all files of the build. */
export interface InputBudget {
  bytes: number;
  documents: number;
}

/** A fresh budget for one build. */
export function inputBudget(): InputBudget {
  return { bytes: INPUT_LIMITS.totalBytes, documents: INPUT_LIMITS.documents };
}

/** One parsed document: its JSON value, or the one problem that stopped it (`source` still to be decided by the caller). */
export type ParsedDocument =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'problem'; readonly source?: string; readonly path: string; readonly message: string };

/** The documents of one file, or the limit that stopped reading it. */
export type ParsedFile =
  | { readonly kind: 'documents'; readonly documents: readonly ParsedDocument[] }
  | { readonly kind: 'stopped'; readonly limit: InputLimit; readonly error: FieldError };

/** Parses one file into JSON values within the limits, spending from `budget`. */
export function parseYamlFile(name: string, text: string, budget: InputBudget): ParsedFile {
  const stop = (limit: InputLimit, at?: string): ParsedFile => ({ kind: 'stopped', limit, error: { source: name, path: '', message: limitMessage(limit, at) } });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > INPUT_LIMITS.fileBytes) return stop('fileBytes');
  if (bytes > budget.bytes) return stop('totalBytes');
  budget.bytes -= bytes;
  const lines = new LineCounter();
  const at = (offset: number): string => {
    const p = lines.linePos(offset);
    return `line ${p.line}, column ${p.col}`;
  };
  const tokens = readTokens(text, lines, budget);
  if ('offset' in tokens) return stop(tokens.limit, at(tokens.offset));
  // Keys are checked for uniqueness below with a set; the composer's own check compares every pair (quadratic in the keys of a mapping).
  const docs = [...new Composer({ uniqueKeys: false }).compose(tokens.tokens)];
  return {
    kind: 'documents',
    documents: docs.map((doc): ParsedDocument => {
      const e = doc.errors[0];
      if (e !== undefined) {
        // Later errors of a document almost always cascade from the first; one precise message beats a screenful.
        const first = e.message.split('\n')[0] ?? '';
        const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more error${doc.errors.length > 2 ? 's' : ''} after it not shown)` : '';
        return { kind: 'problem', source: name, path: '', message: `YAML syntax error at ${at(e.pos[0])}: ${first}${more}` };
      }
      const problem = new Walk(at).document(doc);
      if (problem !== undefined) return { kind: 'problem', ...problem };
      return { kind: 'value', value: doc.toJS({ maxAliasCount: -1 }) };
    }),
  };
}

// Feeds the lexer's tokens to the parser one at a time so the nesting depth
// and the document count are checked as they grow, not after the whole tree
// is built.
function readTokens(text: string, lines: LineCounter, budget: InputBudget): { tokens: CST.Token[] } | { limit: 'documents' | 'depth'; offset: number } {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  // True when the token is one document too many.
  const tooMany = (t: CST.Token): boolean => {
    tokens.push(t);
    if (t.type !== 'document') return false;
    budget.documents -= 1;
    return budget.documents < 0;
  };
  for (const lexeme of new Lexer().lex(text)) {
    for (const t of parser.next(lexeme)) if (tooMany(t)) return { limit: 'documents', offset: t.offset };
    // The stack holds the document and the collections being built (plus a scalar or two): count only when it could be too deep.
    if (parser.stack.length > INPUT_LIMITS.depth && collections(parser.stack) > INPUT_LIMITS.depth) return { limit: 'depth', offset: parser.offset };
  }
  for (const t of parser.end()) if (tooMany(t)) return { limit: 'documents', offset: t.offset };
  return { tokens };
}

function collections(stack: readonly CST.Token[]): number {
  return stack.filter((t) => t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection').length;
}

const YAML_TAG = 'tag:yaml.org,2002:';

interface Measure {
  /** Values in the node once its aliases are expanded. */
  readonly size: number;
  /** Collections nested in the node, itself included. */
  readonly depth: number;
}

class Stop {
  constructor(readonly path: string, readonly message: string) {}
}


// One pass over a composed document, in document order (the order in which
// YAML resolves an alias to the latest anchor of its name): counts anchors
// and aliases, measures what each alias expands to (memoized on the anchored
// node, so a bomb costs its size in source, not in values), refuses an alias
// inside the node it names (a cycle), and duplicate keys. The recursion is
// bounded: the token check already limited the nesting to INPUT_LIMITS.depth.
class Walk {
  private readonly anchors = new Map<string, Node>();
  private readonly measured = new Map<Node, Measure>();
  private readonly open = new Set<Node>();
  private anchorCount = 0;
  private aliasCount = 0;
  private added = 0;

  constructor(private readonly at: (offset: number) => string) {}

  document(doc: Document.Parsed): { source?: string; path: string; message: string } | undefined {
    try {
      this.node(doc.contents, '', 0);
      return undefined;
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      const kind = doc.get('kind');
      const name = doc.getIn(['metadata', 'name']);
      const source = typeof kind === 'string' && kind !== '' && typeof name === 'string' && name !== '' ? `${kind}/${name}` : undefined;
      return { ...(source !== undefined ? { source } : {}), path: e.path, message: e.message };
    }
  }

  private node(n: unknown, path: string, depth: number): Measure {
    if (n === null || n === undefined) return { size: 1, depth: 0 };
    if (isAlias(n)) return this.alias(n.source, path, depth);
    if (!isScalar(n) && !isMap(n) && !isSeq(n)) return { size: 1, depth: 0 };
    if (n.anchor !== undefined) {
      this.anchorCount += 1;
      if (this.anchorCount > INPUT_LIMITS.anchors) throw new Stop(path, limitMessage('anchors'));
      this.anchors.set(n.anchor, n);
    }
    // Tags beyond JSON (!!binary, !!timestamp, !!set, !!omap) would reach the builder as Buffers, Dates, Sets and Maps.
    const special = isScalar(n) ? typeof n.value === 'object' && n.value !== null : n.tag === `${YAML_TAG}set` || n.tag === `${YAML_TAG}omap`;
    if (special) throw new Stop(path, `${n.tag?.replace(YAML_TAG, '!!') ?? 'a timestamp'} value cannot be read: use a string (only what JSON can hold is read)`);
    let m: Measure = { size: 1, depth: 0 };
    if (isMap(n) || isSeq(n)) {
      if (depth + 1 > INPUT_LIMITS.depth) throw new Stop(path, limitMessage('depth'));
      this.open.add(n);
      m = isMap(n) ? this.map(n.items, path, depth + 1) : this.seq(n.items, path, depth + 1);
      this.open.delete(n);
    }
    if (n.anchor !== undefined) this.measured.set(n, m);
    return m;
  }

  private map(items: readonly unknown[], path: string, depth: number): Measure {
    let size = 1;
    let deepest = 0;
    const keys = new Set<string>();
    for (const p of items) {
      if (!isPair(p)) continue;
      const k = p.key;
      const km = this.node(k, path, depth);
      // JSON (and so Kubernetes) keys are strings: a mapping or a list as a key has no meaning there.
      const resolved = isAlias(k) ? this.anchors.get(k.source) : k;
      if (resolved !== null && resolved !== undefined && !isScalar(resolved)) throw new Stop(path, 'a mapping key must be a string, not a mapping or a list');
      // Compared as the JSON key they become: 1 and "1" are the same key there.
      const name = isScalar(resolved) ? String(resolved.value ?? '') : '';
      if (keys.has(name)) throw new Stop(viaField(path, name), `duplicate key at ${this.at(isNode(k) ? k.range?.[0] ?? 0 : 0)} (the keys of a mapping must be unique)`);
      keys.add(name);
      const vm = this.node(p.value, viaField(path, name), depth);
      size += km.size + vm.size;
      deepest = Math.max(deepest, km.depth, vm.depth);
    }
    return { size, depth: deepest + 1 };
  }

  private seq(items: readonly unknown[], path: string, depth: number): Measure {
    let size = 1;
    let deepest = 0;
    items.forEach((item, i) => {
      const m = this.node(item, viaIndex(path, i), depth);
      size += m.size;
      deepest = Math.max(deepest, m.depth);
    });
    return { size, depth: deepest + 1 };
  }

  private alias(name: string, path: string, depth: number): Measure {
    this.aliasCount += 1;
    if (this.aliasCount > INPUT_LIMITS.aliases) throw new Stop(path, limitMessage('aliases'));
    const target = this.anchors.get(name);
    if (target === undefined) throw new Stop(path, `alias *${name} has no anchor &${name} before it`);
    if (this.open.has(target)) throw new Stop(path, `alias *${name} is inside the node it names (recursive aliases are not allowed)`);
    const m = this.measured.get(target) ?? { size: 1, depth: 0 };
    this.added += m.size;
    if (this.added > INPUT_LIMITS.aliasValues) throw new Stop(path, limitMessage('aliasValues'));
    if (depth + m.depth > INPUT_LIMITS.depth) throw new Stop(path, limitMessage('depth'));
    return m;
  }
}
