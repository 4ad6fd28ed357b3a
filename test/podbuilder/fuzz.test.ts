// Property-based fuzzing of validate/build: random and mutated Tekton
// documents (starting from the golden fixtures) never crash and only ever
// fail with field errors: `{source, path, message}`, one line each, naming the
// user's document, never the generated Pod, never a stack trace.
//
// A failure prints fast-check's seed and path; rerun one with
// PIPOD_FUZZ_SEED=<seed> PIPOD_FUZZ_PATH=<path> npx vitest run test/podbuilder/fuzz.test.ts
// (vitest prints the thrown error; fast-check's message above it has the seed).
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { type BuildOptions, type FieldError, type ImageConfig, type SourceFile, build, toJson, toYaml } from '@pipod/podbuilder';
import { fixturesDir, loadCase } from './fixtures.ts';

interface Case {
  readonly name: string;
  readonly sources: readonly SourceFile[];
  readonly options: BuildOptions;
  /** The documents of each source, as JSON values. */
  readonly docs: readonly (readonly unknown[])[];
}

const anyImage: ImageConfig = { entrypoint: ['/bin/sh'], cmd: ['-c', 'true'] };

const cases: readonly Case[] = readdirSync(fixturesDir).sort().map((name) => {
  const { sources, options } = loadCase(name);
  const known = options.imageConfigResolver;
  // Any image resolves, so mutations reach past entrypoint lookup.
  const withImages: BuildOptions = { ...options, imageConfigResolver: { resolve: (image) => known?.resolve(image) ?? anyImage } };
  return { name, sources, options: withImages, docs: sources.map((s) => parseAllDocuments(s.text).map((d) => d.toJS())) };
});

const seed = process.env['PIPOD_FUZZ_SEED'];
const replay = process.env['PIPOD_FUZZ_PATH'];
// PIPOD_FUZZ_RUNS=<n> runs every property n times instead (a longer hunt).
const runs = process.env['PIPOD_FUZZ_RUNS'];
const timeout = runs !== undefined ? 24 * 3600_000 : 120_000;
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns: runs !== undefined ? Number(runs) : numRuns,
  ...(seed !== undefined ? { seed: Number(seed) } : {}),
  ...(replay !== undefined ? { path: replay } : {}),
});

// Node prints process warnings on stderr (the yaml package warns through them); input must not cause any.
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.message));
async function expectNoWarnings(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  expect(warnings).toEqual([]);
}

const STACK = /\n|\s+at \S+ \(|\b(TypeError|ReferenceError|RangeError|SyntaxError|internal error)\b/;

function expectFieldError(e: FieldError): void {
  expect(Object.keys(e).sort()).toEqual(['message', 'path', 'source']);
  expect(typeof e.source).toBe('string');
  expect(typeof e.path).toBe('string');
  expect(typeof e.message).toBe('string');
  // Only an error about the input as a whole ("no Pipeline … in the input") has no document to name.
  if (e.source === '') expect(e.path).toBe('');
  expect(e.message).not.toBe('');
  expect(e.message).not.toMatch(STACK);
  expect(e.path).not.toMatch(/\n/);
  expect(e.source).not.toMatch(/^Pod\//);
}

// What the CLI does with the sources: build, then write the Pod and the plan.
function buildsCleanly(sources: readonly SourceFile[], options: BuildOptions): void {
  const r = build(sources, options);
  for (const w of r.warnings) expectFieldError(w);
  if (r.kind === 'invalid') {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) expectFieldError(e);
    return;
  }
  expect(r.kind).toBe('ok');
  expect(toYaml(r.pod).length).toBeGreaterThan(0);
  expect(toJson(r.plan).length).toBeGreaterThan(0);
}

const oddString = fc.oneof(
  fc.constantFrom(
    '$(', '$()', '$(params.', '$(params.a)', '$(params.a[*])', '$(params.a[0])', '$(params["a"])', "$(params['a.b'])", '$(params.a.b)',
    '$(tasks.a.results.b)', '$(tasks.a.results.b[*])', '$(tasks.a.results.b.c)', '$(tasks.status)', '$(tasks.a.status)', '$(tasks.a.matrix.length)',
    '$(finally.a.results.b)', '$(context.pipelineRun.name)', '$(context.task.retry-count)', '$(workspaces.w.path)', '$(workspaces.w.bound)',
    '$(steps.s.results.r)', '$(steps.s.exitCode.path)', '$(results.r.path)', '$(step.results.r.path)', '$(params.$(params.a))', '$($(', '$$(params.a)',
    '[', ']', '[*]', '[[', '{', '}', '${x}', '\u0000', '\u202e', '\ud800', '🙂', 'é', '日本', '-1', '0', '1e999', '1Gi', '100m', 'lots', '-5Mi',
    '', ' ', 'true', 'null', '~', '&a', '*a', '!!binary', ':', '- x', '#', 'a'.repeat(300), '1h', '-1s', '0s', 'x'.repeat(64), 'Always', 'continue',
  ),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.string({ unit: fc.constantFrom('$', '(', ')', '[', ']', '*', '.', 'a', 'params', 'tasks', 'results', ' ', '"', "'"), maxLength: 12 }),
);

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: oddString },
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(oddString, { maxLength: 3 }),
  fc.dictionary(oddString, oddString, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

type Op = 'delete' | 'replace' | 'retype' | 'nest' | 'splice' | 'rename' | 'duplicate';
interface Edit {
  readonly pick: number;
  readonly op: Op;
  readonly value: unknown;
  readonly text: string;
  readonly depth: number;
  readonly at: number;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom<Op>('delete', 'replace', 'retype', 'nest', 'splice', 'rename', 'duplicate'),
  value: oddValue,
  text: oddString,
  depth: fc.integer({ min: 1, max: 120 }),
  at: fc.nat(),
});

type Slot = { readonly parent: Record<string, unknown> | unknown[]; readonly key: string | number };

function slots(v: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ parent: v, key: i });
      slots(x, out);
    });
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      out.push({ parent: o, key: k });
      slots(o[k], out);
    }
  }
  return out;
}

function get(s: Slot): unknown {
  return Array.isArray(s.parent) ? s.parent[s.key as number] : s.parent[s.key as string];
}

function set(s: Slot, v: unknown): void {
  if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
  else s.parent[s.key as string] = v;
}

function retype(v: unknown): unknown {
  if (typeof v === 'string') return v.length;
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (typeof v === 'object' && v !== null) return Object.values(v);
  return 'null';
}

// Edits a value inside one of the documents (the documents themselves stay).
function apply(docs: readonly unknown[], e: Edit): void {
  const all = docs.flatMap((d) => slots(d));
  if (all.length === 0) return;
  const s = all[e.pick % all.length] as Slot;
  const v = get(s);
  switch (e.op) {
    case 'delete':
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      return;
    case 'replace':
      set(s, e.value);
      return;
    case 'retype':
      set(s, retype(v));
      return;
    case 'nest': {
      let n: unknown = v;
      for (let i = 0; i < e.depth; i++) n = i % 2 === 0 ? [n] : { [e.text === '' ? 'k' : e.text]: n };
      set(s, n);
      return;
    }
    case 'splice':
      if (typeof v === 'string') set(s, v.slice(0, e.at % (v.length + 1)) + e.text + v.slice(e.at % (v.length + 1)));
      else set(s, e.text);
      return;
    case 'rename':
      if (!Array.isArray(s.parent)) {
        delete s.parent[s.key as string];
        s.parent[e.text] = v;
      }
      return;
    case 'duplicate':
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, structuredClone(v));
      else set(s, structuredClone(v));
      return;
  }
}

const caseIndex = fc.nat({ max: cases.length - 1 });

describe('fuzzed validate/build', () => {
  it('every fixture builds as it is (the starting points are valid)', () => {
    for (const c of cases) expect({ name: c.name, kind: build(c.sources, c.options).kind }).toEqual({ name: c.name, kind: 'ok' });
  });

  it('mutated documents (values, types, keys, deep nesting, odd strings) fail only with field errors', async () => {
    fc.assert(fc.property(caseIndex, fc.array(edit, { minLength: 1, maxLength: 6 }), fc.boolean(), (ci, edits, asJson) => {
      const c = cases[ci] as Case;
      const docs = structuredClone(c.docs) as unknown[][];
      for (const e of edits) apply(docs.flat(), e);
      const sources = c.sources.map((s, i) => ({
        name: s.name,
        text: (docs[i] ?? []).map((d) => (asJson ? JSON.stringify(d) : stringify(d, { aliasDuplicateObjects: false }))).join('\n---\n'),
      }));
      buildsCleanly(sources, c.options);
    }), params(150));
    await expectNoWarnings();
  }, timeout);

  it('mutated YAML text (brackets, anchors, aliases, tabs, quotes, cuts) fails only with field errors', async () => {
    const insert = fc.oneof(oddString, fc.constantFrom('[', ']', '{', '}', ': ', '- ', '&a ', '*a', '*b', '<<: *a', '\t', '\n', '\n  ', '"', "'", '|', '>', '? ', '---\n', '...\n', '%YAML 1.1\n', '!!str ', '!!binary ', '!!set ', '!!timestamp ', '!foo ', '#', ','));
    const textEdit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 40 }), text: insert });
    fc.assert(fc.property(caseIndex, fc.array(textEdit, { minLength: 1, maxLength: 8 }), (ci, edits) => {
      const c = cases[ci] as Case;
      const sources = c.sources.map((s) => {
        let t = s.text;
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.text + t.slice(at + (e.cut % 3 === 0 ? e.cut : 0));
        }
        return { name: s.name, text: t };
      });
      buildsCleanly(sources, c.options);
    }), params(150));
    await expectNoWarnings();
  }, timeout);

  it('random documents of every kind fail only with field errors', async () => {
    const kind = fc.constantFrom('Pipeline', 'Task', 'PipelineRun', 'TaskRun', 'StepAction', 'ClusterTask', 'CustomRun', 'ConfigMap', '');
    const spec = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.record({
        params: fc.array(fc.record({ name: oddString, type: fc.constantFrom('string', 'array', 'object', 'x'), default: oddValue }, { requiredKeys: [] }), { maxLength: 3 }),
        tasks: fc.array(fc.record({ name: oddString, taskRef: fc.record({ name: oddString }), taskSpec: fc.record({ steps: fc.array(fc.dictionary(fc.constantFrom('name', 'image', 'script', 'args', 'command', 'env', 'computeResources', 'onError', 'timeout', 'when'), oddValue), { maxLength: 3 }) }), params: fc.array(fc.record({ name: oddString, value: oddValue })), runAfter: fc.array(oddString, { maxLength: 2 }), when: fc.array(fc.record({ input: oddString, operator: fc.constantFrom('in', 'notin', 'x'), values: fc.array(oddString) })) }, { requiredKeys: [] }), { maxLength: 3 }),
        steps: fc.array(fc.dictionary(fc.constantFrom('name', 'image', 'script', 'args', 'command', 'env', 'computeResources', 'results', 'workingDir', 'ref', 'params'), oddValue), { maxLength: 3 }),
        results: fc.array(fc.record({ name: oddString, type: oddString, value: oddValue }, { requiredKeys: [] }), { maxLength: 2 }),
        pipelineRef: fc.record({ name: oddString }),
        pipelineSpec: fc.jsonValue({ maxDepth: 4 }),
        taskRef: fc.record({ name: oddString }),
        workspaces: fc.array(fc.dictionary(fc.constantFrom('name', 'emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'subPath', 'optional'), oddValue), { maxLength: 2 }),
        timeouts: fc.dictionary(fc.constantFrom('pipeline', 'tasks', 'finally'), oddString),
      }, { requiredKeys: [] }),
    );
    const doc = fc.record({
      apiVersion: fc.constantFrom('tekton.dev/v1', 'tekton.dev/v1beta1', 'tekton.dev/v1alpha1', 'v1'),
      kind,
      metadata: fc.oneof(fc.record({ name: oddString }), fc.record({ generateName: oddString }), oddValue),
      spec,
    }, { requiredKeys: ['kind'] });
    fc.assert(fc.property(fc.array(doc, { minLength: 1, maxLength: 4 }), (docs) => {
      buildsCleanly([{ name: 'fuzz.yaml', text: docs.map((d) => stringify(d)).join('---\n') }], { imageConfigResolver: { resolve: () => anyImage } });
    }), params(100));
    await expectNoWarnings();
  }, timeout);
});
