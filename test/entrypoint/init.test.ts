/** The `init` mode and the entrypoint's error handling, through the real bundle. */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '@pipod/plan';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, makePlan, planEnv, runBundle } from './harness.ts';

let bundle = '';
beforeAll(async () => {
  bundle = await buildBundle();
}, 60_000);

const plan = makePlan({
  tasks: [{ name: 'a', steps: [{ name: 's1', script: 'true' }, { name: 's2', script: 'true' }] }],
  finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
});

function runtimeDir(): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'pipod-rt-'));
  fs.mkdirSync(join(dir, 'lib'));
  fs.writeFileSync(join(dir, 'node'), 'binary', { mode: 0o755 });
  fs.writeFileSync(join(dir, 'lib', 'libc.so.6'), 'lib', { mode: 0o644 });
  fs.symlinkSync('libc.so.6', join(dir, 'lib', 'libc.so'));
  fs.writeFileSync(join(dir, 'entrypoint.js'), 'bundle', { mode: 0o644 });
  return dir;
}

describe('init', () => {
  it('copies the runtime with its modes, decodes a chunked plan, and creates the run directories', async () => {
    const root = fs.mkdtempSync(join(tmpdir(), 'pipod-init-'));
    const env = { PIPOD_ROOT: root, PIPOD_RUNTIME_DIR: runtimeDir(), ...planEnv(plan, 64) };
    expect(Object.keys(env).filter((k) => k.startsWith('PIPOD_PLAN_')).length).toBeGreaterThan(3);
    const r = await runBundle(bundle, ['init'], env).exit;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const layout = new Layout(root);
    expect(JSON.parse(fs.readFileSync(layout.planFile, 'utf8'))).toEqual(plan);
    expect(fs.statSync(layout.node).mode & 0o777).toBe(0o755);
    expect(fs.statSync(`${layout.libDir}/libc.so.6`).mode & 0o777).toBe(0o644);
    expect(fs.readlinkSync(`${layout.libDir}/libc.so`)).toBe('libc.so.6');
    expect(fs.readFileSync(layout.entrypoint, 'utf8')).toBe('bundle');
    for (const d of [layout.inboxDir('a-s1'), layout.outboxDir('a-s2'), layout.outboxDir('f-s'), layout.broadcastDir, layout.taskResultsDir('a'), layout.stepDir('a', 's2'), layout.taskWorkspaceDir('a'), layout.taskResultsDir('f')]) {
      expect(fs.statSync(d).isDirectory()).toBe(true);
    }
    // Step images may run as any user: the mailboxes and results must be writable by all.
    expect(fs.statSync(layout.taskResultsDir('a')).mode & 0o777).toBe(0o777);
    // What a wrapper needs before its first start, in its own inbox: it never sees the plan.
    expect(JSON.parse(fs.readFileSync(layout.configFile('a-s1'), 'utf8'))).toEqual({ settings: plan.settings });
    expect(fs.readdirSync(root).filter((n) => n.includes('tmp'))).toEqual([]);
  });

  it('fails clearly without a plan, and without a stack trace', async () => {
    const r = await runBundle(bundle, ['init'], { PIPOD_ROOT: fs.mkdtempSync(join(tmpdir(), 'pipod-init-')), PIPOD_RUNTIME_DIR: runtimeDir() }).exit;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('pipod: no plan in the environment (PIPOD_PLAN_0 is not set)\n');
  });

  it('rejects a plan that is not gzipped base64', async () => {
    const r = await runBundle(bundle, ['init'], { PIPOD_ROOT: fs.mkdtempSync(join(tmpdir(), 'pipod-init-')), PIPOD_RUNTIME_DIR: runtimeDir(), PIPOD_PLAN_0: 'bm90IGd6aXA=' }).exit;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pipod: the plan in PIPOD_PLAN_0…0 is not gzipped base64: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('entrypoint usage', () => {
  it.each([
    [[], 'pipod: usage: entrypoint.js init | supervise | step <container> | sidecar <container>\n'],
    [['bogus'], 'pipod: unknown mode "bogus"; usage: entrypoint.js init | supervise | step <container> | sidecar <container>\n'],
    [['step'], 'pipod: step needs a container name; usage: entrypoint.js init | supervise | step <container> | sidecar <container>\n'],
  ])('%j → exit 2 with one line', async (args, message) => {
    const r = await runBundle(bundle, args, { PIPOD_ROOT: tmpdir() }).exit;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
  });

  it('supervise without a plan says so', async () => {
    const root = fs.mkdtempSync(join(tmpdir(), 'pipod-sup-'));
    const r = await runBundle(bundle, ['supervise'], { PIPOD_ROOT: root }).exit;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`pipod: no plan at ${root}/plan.json (did init run?)\n`);
  });
});
