/**
 * Least privilege inside the pod, on real podman (issue 20): a step of one
 * task tries to forge another task's result, another task's status (a done
 * file) and another task's command (a start file run with the victim's env),
 * and looks for the plan and other containers' environments. None of it may
 * change what the victims did, and the summary reports their real outcomes.
 * Run it under the e2e lock: `flock /tmp/pipod-e2e.lock npx vitest run e2e/isolation.test.ts`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary, StepSummary } from '@pipod/plan';
import { ROOT, containersNamed, ensureImages, pipodRunJson, podsNamed } from './helpers.ts';
import { CLUSTER_KUBECONFIG, clusterUnavailable } from './cluster/cluster.ts';

const RUN_ROOT = '/var/lib/pipod/runs';

/** The report `pipod run -o json` prints: the summary plus each step's log tail. */
type Report = RunSummary;
/** A step of the report. */
type ReportStep = StepSummary & { readonly logTail?: readonly string[] };

async function pipodRun(file: string, args: readonly string[] = []): Promise<{ code: number | null; report: Report; stderr: string }> {
  const { code, summary, stderr } = await pipodRunJson(['-f', join(ROOT, 'e2e/pipelines', file), ...args]);
  return { code, report: summary, stderr };
}

const logOf = (r: Report, task: string): string => ((r.tasks[task]?.steps ?? []) as readonly ReportStep[]).flatMap((s) => s.logTail ?? []).join('\n');

beforeAll(() => ensureImages());

describe('a step that attacks the other tasks of its pod', () => {
  let run: Awaited<ReturnType<typeof pipodRun>>;
  beforeAll(async () => {
    run = await pipodRun('isolation.yaml');
  }, 300_000);

  it('cannot forge another task\'s result: the consumer gets the real value', () => {
    expect(run.report.tasks.producer).toMatchObject({ status: 'Succeeded', results: { token: 'real' } });
    expect(run.report.tasks.consumer).toMatchObject({ status: 'Succeeded', results: { seen: 'real' } });
    expect(run.report.results).toEqual({ consumed: 'real' });
  });

  it('cannot forge another task\'s status: the victim that fails is reported Failed with its own exit code', () => {
    const sleeper = run.report.tasks.sleeper;
    expect(sleeper?.status).toBe('Failed');
    expect(sleeper?.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([['nap', 'Failed', 1]]);
    expect(logOf(run.report, 'sleeper')).toContain('sleeper really ran');
    // The run fails because the sleeper really failed.
    expect(run.report.status).toBe('Failed');
    expect(run.code).toBe(1);
  });

  it('cannot make another container run its command: the holder runs its own, and its secret stays its own', () => {
    expect(run.report.tasks.holder).toMatchObject({ status: 'Succeeded' });
    expect(logOf(run.report, 'holder')).toContain('holder runs its own command');
    const everything = JSON.stringify(run.report) + run.stderr;
    expect(everything).not.toContain('STOLEN');
    expect(everything).not.toContain('s3cr3t-token-value');
  });

  it('sees neither the plan, nor another task\'s or container\'s files, nor other containers\' processes', () => {
    const log = logOf(run.report, 'attacker');
    expect(log).toContain('attacker done');
    const sees = log.split('\n').find((l) => l.startsWith('SEES: ')) ?? '';
    expect(sees).toContain('attacker-attack');
    for (const other of ['producer', 'consumer', 'sleeper', 'holder', 'plan.json', 'pipod-supervisor']) expect(sees).not.toContain(other);
    expect(log).not.toContain('PLAN-VISIBLE');
    expect(log).not.toContain('ENV-VISIBLE');
    // Its forged files were written, but only into its own container's file system.
    expect(log).toContain('wrote /pipod/run/containers/holder-real/in/start-1.json');
  });

  it('leaves nothing behind', () => {
    expect(podsNamed('e2e-isolation')).toEqual([]);
    expect(containersNamed('e2e-isolation')).toEqual([]);
    if (existsSync(RUN_ROOT)) expect(readdirSync(RUN_ROOT).filter((d) => d.startsWith('e2e-isolation'))).toEqual([]);
  });
});

// The same attack on the test cluster: kubelet's subPath and readOnly mounts instead of podman's host paths.
const noCluster = clusterUnavailable();
describe.skipIf(noCluster !== undefined)(`on the test cluster${noCluster !== undefined ? ` (skipped: ${noCluster})` : ''}`, () => {
  it('the victims\' real outcomes are reported and nothing was forged', async () => {
    execFileSync('bash', [join(ROOT, 'e2e/cluster/import-images')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const r = await pipodRun('isolation.yaml', ['--runtime', 'kubernetes', '--kubeconfig', CLUSTER_KUBECONFIG, '-n', 'default']);
    expect(r.report.results).toEqual({ consumed: 'real' });
    expect(r.report.tasks.sleeper?.steps.map((s) => [s.status, s.exitCode])).toEqual([['Failed', 1]]);
    expect(logOf(r.report, 'holder')).toContain('holder runs its own command');
    expect(JSON.stringify(r.report)).not.toMatch(/STOLEN|s3cr3t-token-value|PLAN-VISIBLE|ENV-VISIBLE/);
    const sees = logOf(r.report, 'attacker').split('\n').find((l) => l.startsWith('SEES: ')) ?? '';
    expect(sees).toContain('attacker-attack');
    for (const other of ['producer', 'consumer', 'sleeper', 'holder', 'plan.json']) expect(sees).not.toContain(other);
    expect(r.code).toBe(1);
  }, 300_000);
});
