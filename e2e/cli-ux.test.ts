/**
 * The CLI a user meets, end to end on real podman: why a run failed (text and
 * JSON), reading a finished run back (list, logs, describe), --keep, -f -,
 * exit codes and the order of live output in a pipe. Runs are recorded in a
 * run store of this test's own (XDG_STATE_HOME).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureImages, podman, podsNamed } from './helpers.ts';

const CLI = join(ROOT, 'packages/cli/bin/pipod.mjs');
const state = mkdtempSync(join(tmpdir(), 'pipod-e2e-state-'));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with this test's run store; `input` goes to stdin. */
function pipod(args: readonly string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: state, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

interface StepJson { name: string; status: string; exitCode?: number; reason?: string; message?: string; logTail?: string[]; logLines?: number }
interface ReportJson { status: string; run: { id: string; dir: string }; tasks: Record<string, { status: string; steps: StepJson[] }>; results: Record<string, unknown> }

beforeAll(() => ensureImages());
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('why a run failed', () => {
  let text: Result;
  let json: Result;
  beforeAll(async () => {
    [text, json] = await Promise.all([
      pipod(['run', '-f', 'examples/failing.yaml', '--name', 'e2e-ux-fail-text']),
      pipod(['run', '-f', 'examples/failing.yaml', '--name', 'e2e-ux-fail-json', '-o', 'json']),
    ]);
  });

  it('the text summary names the task and step, reason, exit code and last lines of output', () => {
    expect(text.code).toBe(1);
    const out = text.stdout;
    expect(out).toMatch(/^✗ Failed in \S+ {2}run e2e-ux-fail-text-pod-[0-9a-f]{6}$/m);
    expect(out).toMatch(/^ {2}✗ unit-tests +Failed +\S+ +step run: exit code 3$/m);
    expect(out).toMatch(/^ {2}✗ lint +Failed +\S+ +step shellcheck: exit code 127, StartFailed$/m);
    expect(out).toContain('✗ unit-tests/run: Failed (exit code 3)\n');
    expect(out).toMatch(/last 6 of 6 lines \(all: pipod logs e2e-ux-fail-text-pod-[0-9a-f]{6} --task unit-tests\):/);
    expect(out).toContain('  ! not ok 3 - rounds to two places\n');
    expect(out).toContain('  | 1 of 3 tests failed\n');
    expect(out).toContain('✗ lint/shellcheck: Failed (exit code 127, StartFailed)\n  cannot start "shellcheck-not-installed": not found (checked PATH)\n');
  });

  it('-o json carries reason, message and a log tail per step', () => {
    expect(json.code).toBe(1);
    const lines = json.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0] ?? '') as ReportJson;
    expect(r.status).toBe('Failed');
    expect(r.tasks['unit-tests']?.steps[1]).toMatchObject({ name: 'run', status: 'Failed', exitCode: 3, reason: 'Failed', logLines: 6 });
    expect(r.tasks['unit-tests']?.steps[1]?.logTail).toEqual(expect.arrayContaining(['ok 1 - parses the config', '! not ok 3 - rounds to two places', '!   got:      2.34']));
    expect(r.tasks['lint']?.steps[0]).toMatchObject({ name: 'shellcheck', status: 'Failed', exitCode: 127, reason: 'StartFailed', message: 'cannot start "shellcheck-not-installed": not found (checked PATH)' });
    expect(r.tasks['notify']?.steps[0]).toMatchObject({ status: 'Succeeded', exitCode: 0, reason: 'Completed', logTail: ['pipeline status Failed'] });
    expect(r.run.id).toMatch(/^e2e-ux-fail-json-pod-[0-9a-f]{6}$/);
  });

  it('pipod list, logs and describe read the finished run back', async () => {
    const id = (JSON.parse(json.stdout) as ReportJson).run.id;
    const list = await pipod(['list', '-o', 'json', '-n', '0']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string; status: string; pipeline: string }[]).find((r) => r.id === id)).toMatchObject({ status: 'Failed', pipeline: 'failing', runtime: 'podman', keep: false });
    const table = await pipod(['list']);
    expect(table.stdout).toMatch(new RegExp(`^${id} +failing +✗ Failed +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+ +podman$`, 'm'));

    const logs = await pipod(['logs', id, '--task', 'unit-tests']);
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n').filter((l) => l !== '').sort()).toEqual([
      '[unit-tests/prepare] collecting 3 tests',
      '[unit-tests/run] 1 of 3 tests failed',
      '[unit-tests/run] ok 1 - parses the config',
      '[unit-tests/run] ok 2 - rejects an empty name',
      '[unit-tests/run]!   expected: 2.35',
      '[unit-tests/run]!   got:      2.34',
      '[unit-tests/run]! not ok 3 - rounds to two places',
    ]);
    const raw = await pipod(['logs', id.slice(0, -2), '--task', 'notify', '--raw']);
    expect(raw.stdout).toBe('pipeline status Failed\n');
    const bad = await pipod(['logs', id, '--task', 'nope']);
    expect([bad.code, bad.stderr]).toEqual([2, `pipod: run ${id} has no task "nope" (tasks: lint, notify, publish, unit-tests)\n`]);

    const d = await pipod(['describe', id]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain(`Run:       ${id}\nPipeline:  failing\nStatus:    Failed\n`);
    expect(d.stdout).toMatch(/^ {6}✗ run +Failed +\S+ +exit code 3$/m);
    expect(d.stdout).toContain('  ! not ok 3 - rounds to two places\n');
    const dj = JSON.parse((await pipod(['describe', id, '-o', 'json'])).stdout) as { record: { id: string }; report: ReportJson };
    expect(dj.record.id).toBe(id);
    expect(dj.report.tasks['lint']?.steps[0]?.reason).toBe('StartFailed');
  });
});

describe('runs and inputs', () => {
  it('-f - reads the pipeline from stdin', async () => {
    const r = await pipod(['run', '-f', '-', '-o', 'json', '-p', 'who=stdin', '--name', 'e2e-ux-stdin'], readFileSync(join(ROOT, 'examples/hello.yaml'), 'utf8'));
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as ReportJson).results).toEqual({ greeting: 'hello, stdin' });
  });

  it('a kept run survives the next run, whose sweep still removes a dead run', async () => {
    // A run root of this test's own: pipod processes of other checkouts on this host sweep the shared one by their own rules.
    const runRoot = mkdtempSync(join(tmpdir(), 'pipod-e2e-runs-'));
    const env = { PIPOD_RUN_ROOT: runRoot };
    const kept = await pipod(['run', '-f', 'examples/hello.yaml', '--name', 'e2e-ux-keep', '--keep', '-o', 'json'], undefined, env);
    expect(kept.code).toBe(0);
    const id = (JSON.parse(kept.stdout) as ReportJson).run.id;
    try {
      expect(podsNamed(id)).toEqual([id]);
      expect(existsSync(join(runRoot, id, 'kept'))).toBe(true);
      // A run left behind by a pipod process that died (not kept): the next run removes it.
      const dead = join(runRoot, 'e2e-ux-dead-000000');
      mkdirSync(dead);
      writeFileSync(join(dead, 'owner.pid'), String(spawnSync('true').pid));
      const next = await pipod(['run', '-f', 'examples/hello.yaml', '--name', 'e2e-ux-after-keep', '-o', 'json'], undefined, env);
      expect(next.code).toBe(0);
      expect(next.stderr).not.toContain(`removing ${id}`);
      expect(next.stderr).toContain('removing e2e-ux-dead-000000');
      expect(existsSync(dead)).toBe(false);
      expect(podsNamed(id)).toEqual([id]);
      expect(existsSync(join(runRoot, id))).toBe(true);
      const list = JSON.parse((await pipod(['list', '-o', 'json', '-n', '0'])).stdout) as { id: string; keep: boolean }[];
      expect(list.find((r) => r.id === id)?.keep).toBe(true);
    } finally {
      podman('pod', 'rm', '-f', '-t', '0', id);
      rmSync(runRoot, { recursive: true, force: true });
    }
  });

  const hello = readFileSync(join(ROOT, 'examples/hello.yaml'), 'utf8');
  const cycle = 'apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n    - {name: a, runAfter: [b], taskSpec: {steps: [{name: s, image: x, script: echo}]}}\n    - {name: b, runAfter: [a], taskSpec: {steps: [{name: s, image: x, script: echo}]}}\n';
  it.each([
    ['a failed run', ['run', '-f', 'examples/failing.yaml', '--name', 'e2e-ux-exit1', '-o', 'json'], undefined, 1],
    ['a usage error', ['run', '--no-such-flag', '-f', 'examples/hello.yaml'], undefined, 2],
    ['invalid YAML', ['run', '-f', '-'], 'kind: [', 2],
    ['a pipeline that does not validate', ['run', '-f', '-'], cycle, 2],
    ['validate finding errors', ['validate', '-f', '-'], cycle, 2],
    ['an image that cannot be had', ['run', '-f', '-', '--image-map', 'localhost/pipod-test/busybox:latest=localhost/pipod-test/does-not-exist:1', '--name', 'e2e-ux-exit3'], hello, 3],
  ])('exit code for %s', async (_what, args, input, code) => {
    const r = await pipod(args, input);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(code);
  });

  it('bare pipod shows the help with the exit codes', async () => {
    const r = await pipod([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pipod run');
    expect(r.stdout).toContain('Exit codes:\n  0  success');
  });
});

describe('live output in a pipe', () => {
  it('prints each step\'s output between its task\'s start and the step\'s end, in plain stable lines', async () => {
    const r = await pipod(['run', '-f', 'examples/clone-build-test.yaml', '--logs', '--name', 'e2e-ux-order']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('pipod: running examples/clone-build-test.yaml on podman');
    expect(r.stdout).not.toContain('\u001b[');
    for (const [task, step, text] of [['upstream', 'serve', 'serving /workspace/remote/app.git'], ['clone', 'clone', 'cloned '], ['build', 'make', 'built dist/greet'], ['test', 'make', 'ok 1 - greets by name']] as const) {
      const started = lines.indexOf(`  ${task}: started`);
      const out = lines.findIndex((l) => l.startsWith(`[${task}/${step}] ${text}`));
      const ended = lines.findIndex((l) => l.startsWith(`    ${task}/${step}: Succeeded in `));
      expect([task, started >= 0, out > started, ended > out]).toEqual([task, true, true, true]);
    }
  });
});
