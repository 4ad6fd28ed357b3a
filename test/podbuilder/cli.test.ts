// `pipod build` and `pipod validate` end to end through the real CLI bin:
// output, exit codes, and clean messages (never a stack trace).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixturesDir } from './fixtures.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/pipod.mjs');
const pipod = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const dir = mkdtempSync(join(tmpdir(), 'pipod-cli-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('pipod build', () => {
  it('prints the golden Pod for a fixture', () => {
    const r = pipod('build', '-f', join(fixturesDir, 'sequential/input.yaml'));
    expect(r.code).toBe(0);
    const marked = r.out.replace(/(- name: PIPOD_PLAN_\d+\n\s+value: ).*/g, "$1'<plan.json, gzip+base64>'");
    expect(marked).not.toBe(r.out);
    expect(marked).toBe(readFileSync(join(fixturesDir, 'sequential/pod.yaml'), 'utf8'));
  }, 60_000);

  it('prints the plan as JSON with -p overrides', () => {
    const r = pipod('build', '-f', join(fixturesDir, 'sequential/input.yaml'), '--plan', '-o', 'json', '-p', 'greeting=hi');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as { params: Record<string, string>; tasks: { params: Record<string, string> }[] };
    expect(plan.params).toEqual({ greeting: 'hi' });
    expect(plan.tasks[0]?.params).toEqual({ message: 'hi one' });
  }, 60_000);

  it('explains how the peak request was reached, and can put it at pod level', () => {
    const input = join(fixturesDir, 'resources-fan-out/input.yaml');
    const r = pipod('build', '-f', input, '--explain-resources', '-o', 'json');
    expect(r.code).toBe(0);
    const e = JSON.parse(r.out) as { resources: { resource: string; asWritten: string; peak: string; overlapping: { task: string }[] }[] };
    const cpu = e.resources.find((x) => x.resource === 'cpu');
    expect(cpu).toMatchObject({ asWritten: '2500m', peak: '1500m' });
    expect(cpu?.overlapping.map((o) => o.task).sort()).toEqual(['a', 'b', 'c']);
    expect(pipod('build', '-f', input, '--explain-resources').out).toMatch(/^cpu +2500m +1500m +1500m +1\.67x +a \(500m\) ‖ b \(500m\) ‖ c \(500m\)/m);
    const pod = parse(pipod('build', '-f', input, '--pod-resources', 'pod').out) as { spec: { resources?: { requests: Record<string, string> } } };
    expect(pod.spec.resources?.requests).toEqual({ cpu: '1500m', memory: '768Mi' });
  }, 60_000);

  it('binds a workspace from -w', () => {
    const r = pipod('build', '-f', join(fixturesDir, 'task-alone/input.yaml'), '-w', 'scratch=hostPath=/data');
    expect(r.code).toBe(0);
    const pod = parse(r.out) as { spec: { volumes: unknown[] } };
    expect(pod.spec.volumes).toContainEqual({ name: 'ws-scratch', hostPath: { path: '/data', type: 'DirectoryOrCreate' } });
  }, 60_000);

  it('fails with every error and exit 2 (invalid input) on invalid input', () => {
    const f = file('bad.yaml', 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: S, image: busybox, script: echo, oops: 1}]\n');
    const r = pipod('build', '-f', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('Task/t: spec.steps[0].oops: unknown field\n');
    expect(r.err).toContain('Task/t: spec.steps[0].name: invalid name "S"');
    expect(r.err).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('pipod validate', () => {
  it('prints one error per line and exits 2', () => {
    const f = file('cycle.yaml', 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n    - {name: a, runAfter: [b], taskSpec: {steps: [{name: s, image: x, script: echo}]}}\n    - {name: b, runAfter: [a], taskSpec: {steps: [{name: s, image: x, script: echo}]}}\n');
    const r = pipod('validate', '-f', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('Pipeline/p: spec.tasks: dependency cycle: a -> b -> a\n');
  }, 60_000);

  it('prints JSON with -o json', () => {
    const f = file('unknown.yaml', 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n    - {name: a, taskRef: {name: missing}}\n');
    const r = pipod('validate', '-f', f, '-o', 'json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({
      valid: false,
      errors: [{ source: 'Pipeline/p', path: 'spec.tasks[0].taskRef.name', message: 'unknown task "missing": no Task of that name among the documents given' }],
      warnings: [],
    });
  }, 60_000);

  it('reads every YAML file of a directory', () => {
    const sub = mkdtempSync(join(dir, 'many-'));
    const docs = readFileSync(join(fixturesDir, 'results-wiring/input.yaml'), 'utf8').split(/^---$/m);
    docs.forEach((text, i) => writeFileSync(join(sub, `doc${i}.yaml`), text));
    writeFileSync(join(sub, 'notes.txt'), 'not yaml: [');
    expect(pipod('validate', '-f', sub)).toEqual({ code: 0, out: '', err: 'valid\n' });
    const onlyTwo = mkdtempSync(join(dir, 'two-'));
    docs.slice(1).forEach((text, i) => writeFileSync(join(onlyTwo, `doc${i}.yaml`), text));
    const r = pipod('validate', '-f', onlyTwo);
    expect([r.code, r.out]).toEqual([2, 'Pipeline/results: spec.tasks[0].taskRef.name: unknown task "produce": no Task of that name among the documents given\n']);
  }, 60_000);

  it('exits 0 for valid input', () => {
    const r = pipod('validate', '-f', join(fixturesDir, 'fan-out-fan-in/input.yaml'));
    expect([r.code, r.out]).toEqual([0, '']);
  }, 60_000);

  it('reports a missing file and a YAML syntax error cleanly', () => {
    const missing = pipod('validate', '-f', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`pipod: cannot read ${join(dir, 'nope.yaml')}: no such file\n`);
    const f = file('syntax.yaml', 'kind: Task\n  bad: [\n');
    const r = pipod('validate', '-f', f);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^(.*syntax\.yaml: YAML syntax error at line \d+, column \d+: .+\n)+$/);
  }, 60_000);
});

describe('pipod run usage errors', () => {
  it.each([
    [['--timeout', 'soon'], 'pipod: --timeout "soon": expected a duration such as 90s, 10m or 1h30m\n'],
    [['--runtime', 'kubernetes', '--start-timeout', '0'], 'pipod: --start-timeout "0": expected a positive duration such as 30s or 5m\n'],
    [['--start-timeout', '30s'], 'pipod: --start-timeout applies to --runtime kubernetes only (podman starts the pod before it returns)\n'],
  ])('pipod run %j fails before anything runs', (args, err) => {
    const r = pipod('run', '-f', join(fixturesDir, 'sequential/input.yaml'), ...args);
    expect([r.code, r.err]).toEqual([2, err]);
  }, 60_000);
});

describe('inputs of several runs and Kubernetes objects', () => {
  const tr = (n: string, script = 'true') => `apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: ${n}}\nspec:\n  taskSpec:\n    steps: [{name: s, image: busybox, script: '${script}'}]\n`;
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n';

  it('pipod build prints the objects, then every Pod, as multi-document YAML', () => {
    const r = pipod('build', '-f', file('several.yaml', [cm, tr('one'), tr('two')].join('---\n')));
    expect(r.code).toBe(0);
    const docs = r.out.split(/^---$/m).map((d) => parse(d) as { kind: string; metadata: { name: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['ConfigMap/cfg', 'Pod/one-pod', 'Pod/two-pod']);
  }, 60_000);

  it('pipod build -o json prints a v1 List of them', () => {
    const r = pipod('build', '-o', 'json', '-f', file('several.yaml', [cm, tr('one'), tr('two')].join('---\n')));
    const list = JSON.parse(r.out) as { kind: string; items: { kind: string }[] };
    expect([list.kind, list.items.map((i) => i.kind)]).toEqual(['List', ['ConfigMap', 'Pod', 'Pod']]);
  }, 60_000);

  it('pipod run refuses --name for several runs, and nothing runs when one of them is invalid', () => {
    const f = file('several.yaml', [tr('one'), tr('two')].join('---\n'));
    expect(pipod('run', '--name', 'x', '-f', f).err).toContain('pipod: --name names one run; the files hold 2 (TaskRun/one, TaskRun/two)\n');
    const bad = pipod('run', '-f', file('bad.yaml', [tr('one'), `${tr('two')}  timeout: soon\n`].join('---\n')));
    expect([bad.code, bad.err.split('\n').filter((l) => l.startsWith('TaskRun/') || l.startsWith('pipod: 1 error'))]).toEqual([
      2, ['TaskRun/two: spec.timeout: invalid duration "soon": use Go duration syntax such as 1h30m, 90s or 500ms', 'pipod: 1 error; nothing run'],
    ]);
  }, 60_000);
});
