// The input limits: each one, at the edge and one past it, as exact
// {source, path, message} errors; bad quantities at the user's field; and the
// crash inputs through the real CLI (exit code, one line, no stack).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FieldError, INPUT_LIMITS, build, loadDocuments } from '@pipod/podbuilder';

const e = (source: string, path: string, message: string): FieldError => ({ source, path, message });
const load = (text: string, name = 'in.yaml'): readonly FieldError[] => loadDocuments([{ name, text }]).errors;
const MiB = 1024 * 1024;

// Nine lists of nine aliases of the list before: 9^9 values from 500 bytes.
const LAUGHS = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((k, i) => {
  const prev = 'abcdefgh'[i];
  return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`;
})].join('\n');

const nestedLists = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
const nestedMaps = (n: number): string => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n');

const task = (steps: string): string => `apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: build\nspec:\n  steps:\n${steps}`;

describe('input limits', () => {
  it('documents the values the docs list', () => {
    expect(INPUT_LIMITS).toEqual({ fileBytes: 4 * MiB, totalBytes: 8 * MiB, documents: 1000, depth: 100, anchors: 1000, aliases: 1000, aliasValues: 100_000 });
  });

  it.each([
    ['a file one byte over 4 MiB', [['big.yaml', 'a'.repeat(4 * MiB + 1)]], [e('big.yaml', '', 'input limit exceeded: the file is larger than 4 MiB')]],
    // Bytes are counted in UTF-8: 1 Mi four-byte characters are 4 MiB, and the two before them are over.
    ['a file over 4 MiB of UTF-8 in fewer characters', [['u.yaml', `# ${'😀'.repeat(MiB)}`]], [e('u.yaml', '', 'input limit exceeded: the file is larger than 4 MiB')]],
    ['files over 8 MiB together (and nothing read after)', [['1.yaml', `# ${'a'.repeat(3 * MiB)}`], ['2.yaml', `# ${'a'.repeat(3 * MiB)}`], ['3.yaml', `# ${'a'.repeat(3 * MiB)}`], ['4.yaml', 'kind: [']],
      [e('3.yaml', '', 'input limit exceeded: the files are larger than 8 MiB together')]],
    ['1001 documents in one file', [['docs.yaml', '---\n'.repeat(1001)]], [e('docs.yaml', '', 'input limit exceeded at line 1001, column 1: more than 1000 documents in one build')]],
    ['1001 documents across files (and nothing read after)', [['a.yaml', '---\n'.repeat(600)], ['b.yaml', '---\n'.repeat(401)], ['c.yaml', 'kind: [']],
      [e('b.yaml', '', 'input limit exceeded at line 401, column 1: more than 1000 documents in one build')]],
    ['1000 nested lists (the crash input: 2 KB)', [['n.yaml', nestedLists(1000)]], [e('n.yaml', '', 'input limit exceeded at line 1, column 102: mappings and lists nested more than 100 deep')]],
    ['101 nested lists', [['n.yaml', nestedLists(101)]], [e('n.yaml', '', 'input limit exceeded at line 1, column 102: mappings and lists nested more than 100 deep')]],
    ['1000 unclosed lists', [['n.yaml', '['.repeat(1000)]], [e('n.yaml', '', 'input limit exceeded at line 1, column 102: mappings and lists nested more than 100 deep')]],
    ['101 nested block mappings', [['m.yaml', nestedMaps(101)]], [e('m.yaml', '', 'input limit exceeded at line 101, column 103: mappings and lists nested more than 100 deep')]],
    ['a list nested 100 deep by an alias of a list nested 99 deep', [['a.yaml', `a: &a ${nestedLists(99)}\nb: [*a]\n`]], [e('a.yaml', 'b[0]', 'input limit exceeded: mappings and lists nested more than 100 deep')]],
    ['1001 anchors', [['a.yaml', `a: [${Array.from({ length: 1001 }, (_, i) => `&a${i} x`).join(', ')}]`]], [e('a.yaml', 'a[1000]', 'input limit exceeded: more than 1000 anchors in one document')]],
    ['1001 aliases', [['a.yaml', `a: &x 1\nb: [${Array(1001).fill('*x').join(', ')}]`]], [e('a.yaml', 'b[1000]', 'input limit exceeded: more than 1000 aliases in one document')]],
    ['an alias bomb (billion laughs)', [['bomb.yaml', LAUGHS]], [e('bomb.yaml', 'f[0]', 'input limit exceeded: aliases expand to more than 100000 values in one document')]],
    ['an alias bomb inside a Task names the Task', [['t.yaml', `${task('    - name: a\n      image: busybox\n')}${LAUGHS.replace(/^/gm, '  ')}\n`]],
      [e('Task/build', 'spec.f[0]', 'input limit exceeded: aliases expand to more than 100000 values in one document')]],
    ['a recursive alias', [['r.yaml', task('    - &s\n      name: a\n      image: busybox\n      env: [*s]\n')]], [e('Task/build', 'spec.steps[0].env[0]', 'alias *s is inside the node it names (recursive aliases are not allowed)')]],
    ['an alias before its anchor', [['u.yaml', 'a: *nope\nb: &nope 1\n']], [e('u.yaml', 'a', 'alias *nope has no anchor &nope before it')]],
    ['a duplicate key', [['d.yaml', task('    - name: a\n      image: busybox\n      image: alpine\n')]], [e('Task/build', 'spec.steps[0].image', 'duplicate key at line 9, column 7 (the keys of a mapping must be unique)')]],
    ['a !!binary value', [['b.yaml', 'a: !!binary aGVsbG8=\n']], [e('b.yaml', 'a', '!!binary value cannot be read: use a string (only what JSON can hold is read)')]],
    ['a YAML 1.1 timestamp', [['t.yaml', '%YAML 1.1\n---\na: [2001-12-14]\n']], [e('t.yaml', 'a[0]', 'a timestamp value cannot be read: use a string (only what JSON can hold is read)')]],
    ['a !!set', [['s.yaml', 'a: !!set {x}\n']], [e('s.yaml', 'a', '!!set value cannot be read: use a string (only what JSON can hold is read)')]],
    ['a mapping as a key', [['k.yaml', 'a:\n  ? {x: 1}\n  : v\n']], [e('k.yaml', 'a', 'a mapping key must be a string, not a mapping or a list')]],
    ['1 and "1" as keys of one mapping', [['k.yaml', 'a: {1: x, "1": y}\n']], [e('k.yaml', 'a.1', 'duplicate key at line 1, column 11 (the keys of a mapping must be unique)')]],
    ['a problem in the second document names it', [['two.yaml', `kind: Task\n---\n${LAUGHS}`]], [e('Task/<two.yaml#0>', 'apiVersion', 'required field is missing'), e('two.yaml#1', 'f[0]', 'input limit exceeded: aliases expand to more than 100000 values in one document')]],
  ])('%s', (_name, files, errors) => {
    expect(loadDocuments(files.map(([name, text]) => ({ name: name as string, text: text as string }))).errors).toEqual(errors);
  });

  it.each([
    ['100 nested lists', nestedLists(100), e('in.yaml', '', 'a document must be a mapping with apiVersion, kind and metadata')],
    ['100 nested block mappings', nestedMaps(100), e('in.yaml', 'kind', 'required field is missing')],
    ['1000 anchors and 1000 aliases', `a: [${Array.from({ length: 1000 }, (_, i) => `&a${i} x`).join(', ')}]\nb: [${Array(1000).fill('*a0').join(', ')}]`, e('in.yaml', 'kind', 'required field is missing')],
    ['aliases that add 100000 values', `a: &a [${Array(99).fill('x').join(', ')}]\nb: [${Array(1000).fill('*a').join(', ')}]`, e('in.yaml', 'kind', 'required field is missing')],
  ])('%s are within the limits', (_name, text, error) => {
    expect(load(text)).toEqual([error]);
  });

  it('1000 documents are within the limit', () => {
    expect(load('---\n'.repeat(1000))).toEqual([]);
  });

  it('a file of exactly 4 MiB is read', () => {
    expect(load(`# ${'a'.repeat(4 * MiB - 2)}`)).toEqual([]);
  });
});

describe('bad quantities point at the user\'s field', () => {
  const pipelineRun = (spec: string): string => `apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: run\nspec:\n${spec}`;
  it.each([
    ['a step limit', [task('    - name: a\n      image: busybox\n      script: echo\n      computeResources:\n        limits:\n          memory: "lots"\n')],
      [e('Task/build', 'spec.steps[0].computeResources.limits.memory', 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi')]],
    ['every bad entry of a step', [task('    - name: a\n      image: busybox\n      script: echo\n      computeResources:\n        requests: {cpu: -1, memory: 1KB, gpu: 1}\n        limits: [1]\n')],
      [
        e('Task/build', 'spec.steps[0].computeResources.requests.cpu', 'must not be negative, got "-1"'),
        e('Task/build', 'spec.steps[0].computeResources.requests.gpu', 'unknown resource "gpu": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu'),
        e('Task/build', 'spec.steps[0].computeResources.requests.memory', 'invalid quantity "1KB": unknown suffix "KB" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)'),
        e('Task/build', 'spec.steps[0].computeResources.limits', 'must be a map of resource name to quantity'),
      ]],
    ['a sidecar request', [`${task('    - name: a\n      image: busybox\n      script: echo\n')}  sidecars:\n    - name: db\n      image: busybox\n      script: echo\n      computeResources: {requests: {memory: lots}}\n`],
      [e('Task/build', 'spec.sidecars[0].computeResources.requests.memory', 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi')]],
    ['a stepTemplate limit', [`${task('    - name: a\n      image: busybox\n      script: echo\n')}  stepTemplate:\n    computeResources: {limits: {cpu: lots}}\n`],
      [e('Task/build', 'spec.stepTemplate.computeResources.limits.cpu', 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi')]],
    ['a TaskRun\'s task-level computeResources', ['apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata:\n  name: tr\nspec:\n  computeResources: {limits: {memory: lots}}\n  taskSpec:\n    steps:\n      - name: a\n        image: busybox\n        script: echo\n'],
      [e('TaskRun/tr', 'spec.computeResources.limits.memory', 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi')]],
    ['a PipelineRun\'s stepSpecs', [task('    - name: a\n      image: busybox\n      script: echo\n'), 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n    - name: t\n      taskRef: {name: build}\n',
      pipelineRun('  pipelineRef: {name: p}\n  taskRunSpecs:\n    - pipelineTaskName: t\n      stepSpecs:\n        - name: a\n          computeResources: {requests: {memory: lots}}\n')],
    [e('PipelineRun/run', 'spec.taskRunSpecs[0].stepSpecs[0].computeResources.requests.memory', 'invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi')]],
  ])('%s', (_name, docs, errors) => {
    const r = build(docs.map((text, i) => ({ name: `doc${i}.yaml`, text })));
    expect(r.kind === 'invalid' ? r.errors : []).toEqual(errors);
  });
});

describe('the crash inputs through the CLI', () => {
  const bin = join(import.meta.dirname, '../../packages/cli/bin/pipod.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'pipod-limits-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  // Spawned without blocking the test worker (a blocked worker misses vitest's heartbeats on a busy machine).
  const run = (args: readonly string[], stdin: number | 'ignore' = 'ignore'): Promise<{ code: number | null; out: string; err: string }> => new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('close', (code) => resolve({ code, out, err }));
  });
  const nested = file('nested.yaml', nestedLists(1000));
  const bomb = file('bomb.yaml', LAUGHS);
  const quantity = file('quantity.yaml', task('    - name: a\n      image: busybox\n      script: echo\n      computeResources:\n        limits:\n          memory: "lots"\n'));
  const nestedLine = `${nested}: input limit exceeded at line 1, column 102: mappings and lists nested more than 100 deep\n`;
  const bombLine = `${bomb}: f[0]: input limit exceeded: aliases expand to more than 100000 values in one document\n`;
  const quantityLine = 'Task/build: spec.steps[0].computeResources.limits.memory: invalid quantity "lots": expected a number such as 1, 0.5, 100m or 1Gi\n';

  // validate prints the errors on stdout; build prints them on stderr with a summary line. Image lookup stays on (the default): the nesting crash happened there.
  it.each([
    ['nested lists', nested, nestedLine],
    ['an alias bomb', bomb, bombLine],
    ['a bad quantity', quantity, quantityLine],
  ])('%s: validate and build exit 2 with the one reason', async (_name, f, line) => {
    expect(await run(['validate', '-f', f])).toEqual({ code: 2, out: line, err: '' });
    expect(await run(['build', '-f', f])).toEqual({ code: 2, out: '', err: `${line}pipod: 1 error; nothing built\n` });
  }, 60_000);

  it('/dev/zero as a file and as stdin: reading stops at 4 MiB', async () => {
    const limit = 'input limit exceeded: the file is larger than 4 MiB';
    expect(await run(['build', '-f', '/dev/zero'])).toEqual({ code: 2, out: '', err: `pipod: /dev/zero: ${limit}\n` });
    const zero = openSync('/dev/zero', 'r');
    try {
      // `-f=-`: yargs takes a lone `-f -` for a stray positional argument.
      expect(await run(['validate', '-f=-'], zero)).toEqual({ code: 2, out: '', err: `pipod: <stdin>: ${limit}\n` });
    } finally {
      closeSync(zero);
    }
  }, 60_000);

  it('a FIFO fed without end: reading stops at 4 MiB', async () => {
    const fifo = join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('sh', ['-c', `exec yes 'a: b' > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = await run(['build', '-f', fifo]);
      expect(r).toEqual({ code: 2, out: '', err: `pipod: ${fifo}: input limit exceeded: the file is larger than 4 MiB\n` });
    } finally {
      writer.kill();
    }
  }, 60_000);

  it('files over 8 MiB together: reading stops there', async () => {
    const big = (n: number): string => file(`big${n}.yaml`, `# ${'a'.repeat(3 * MiB)}\n`);
    const files = [big(1), big(2), big(3)];
    expect(await run(['validate', ...files.flatMap((f) => ['-f', f])])).toEqual({ code: 2, out: '', err: `pipod: ${files[2]}: input limit exceeded: the files are larger than 8 MiB together\n` });
  }, 60_000);
});
