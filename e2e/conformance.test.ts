/**
 * Conformance: one small pipeline per Tekton rule, run for real on podman
 * with `pipod run -o json`, its summary compared with an expectation.
 * A case is `conformance/<name>.yaml` plus `conformance/<name>.expect.yaml`:
 *
 *   args: [-p, x=1]          # optional extra `pipod run` arguments
 *   exitCode: 1              # optional, default 0 when status is Succeeded, else 1
 *   summary: {...}           # a subset of the RunSummary that must match
 *   runs: [{...}, ...]       # instead of summary, for a file of several runs:
 *                            # one subset per run, in order (one JSON report a line)
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
  readonly summary?: { readonly status: string } & Record<string, unknown>;
  readonly runs?: readonly ({ readonly status: string } & Record<string, unknown>)[];
}

const dir = join(ROOT, 'e2e/conformance');
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.expect.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

function runCase(name: string, args: readonly string[], several: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  // --name names one run: a file of several keeps the names it gives them.
  const naming = several ? [] : ['--name', `conf-${name}`];
  return new Promise((resolve) => {
    const p = spawn('node', [join(ROOT, 'packages/cli/bin/pipod.mjs'), 'run', '-o', 'json', ...naming, '-f', join(dir, `${name}.yaml`), ...args], { cwd: ROOT });
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
    const r = await runCase(name, want.args ?? [], want.runs !== undefined);
    let reports: unknown[];
    try {
      reports = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    } catch {
      throw new Error(`no JSON summary (exit ${r.code}); stderr:\n${r.stderr}`);
    }
    const wanted = want.runs ?? (want.summary ? [want.summary] : []);
    expect(reports, r.stderr).toMatchObject(wanted);
    expect(r.code).toBe(want.exitCode ?? (wanted.every((w) => w.status === 'Succeeded') ? 0 : 1));
  });
});
