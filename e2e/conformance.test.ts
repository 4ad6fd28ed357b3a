/**
 * Conformance: one small pipeline per Tekton rule, run for real on podman
 * with `pipod run -o json`, its summary compared with an expectation.
 * A case is `conformance/<name>.yaml` plus `conformance/<name>.expect.yaml`:
 *
 *   args: [-p, x=1]          # optional extra `pipod run` arguments
 *   exitCode: 1              # optional, default 0 when status is Succeeded, else 1
 *   summary: {...}           # a subset of the RunSummary that must match
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureImages } from './helpers.ts';

interface Expectation {
  readonly args?: readonly string[];
  readonly exitCode?: number;
  readonly summary: { readonly status: string } & Record<string, unknown>;
}

const dir = join(ROOT, 'e2e/conformance');
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.expect.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

function runCase(name: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'packages/cli/bin/pipod.mjs'), 'run', '-o', 'json', '--name', `conf-${name}`, '-f', join(dir, `${name}.yaml`), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(() => ensureImages());

describe('conformance on podman', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  it.each(cases)('%s', async (name) => {
    const want = parse(readFileSync(join(dir, `${name}.expect.yaml`), 'utf8')) as Expectation;
    const r = await runCase(name, want.args ?? []);
    let summary: unknown;
    try {
      summary = JSON.parse(r.stdout);
    } catch {
      throw new Error(`no JSON summary (exit ${r.code}); stderr:\n${r.stderr}`);
    }
    expect(summary, r.stderr).toMatchObject(want.summary);
    expect(r.code).toBe(want.exitCode ?? (want.summary.status === 'Succeeded' ? 0 : 1));
  });
});
