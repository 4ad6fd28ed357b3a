/**
 * `pipod run` end to end on real podman: every case runs the CLI on a
 * pipeline from e2e/pipelines/ and asserts outcomes from the JSON summary,
 * then that nothing of the run is left behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '@pipod/plan';
import { ROOT, containersNamed, ensureImages, pipodRunJson, podsNamed, type PipodRunJson } from './helpers.ts';

const RUN_ROOT = '/var/lib/pipod/runs';

/** Runs `pipod run -o json` on a pipeline file; `onStderr` sees progress as it comes (for cancelling). */
const pipod = (file: string, args: readonly string[] = [], onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<PipodRunJson> =>
  pipodRunJson(['-f', join(ROOT, 'e2e/pipelines', file), ...args], onStderr);

/** Asserts that no pod, container or run directory of the pipeline's runs remains. */
function expectNothingLeft(prefix: string): void {
  expect(podsNamed(prefix)).toEqual([]);
  expect(containersNamed(prefix)).toEqual([]);
  if (existsSync(RUN_ROOT)) expect(readdirSync(RUN_ROOT).filter((d) => d.startsWith(prefix))).toEqual([]);
}

function statuses(s: RunSummary): Record<string, string> {
  return Object.fromEntries(Object.entries(s.tasks).map(([k, t]) => [k, t.status]));
}

beforeAll(() => ensureImages());

describe('pipod run on podman', () => {
  it('runs the README example', async () => {
    const { code, summary } = await pipod('../../examples/hello.yaml', ['-p', 'who=e2e']);
    expect(code).toBe(0);
    expect(summary.results).toEqual({ greeting: 'hello, e2e' });
    expect(summary.tasks.report).toMatchObject({ status: 'Succeeded', finally: true });
    expectNothingLeft('hello-run');
  });

  it('runs a sequential chain in order', async () => {
    const { code, summary } = await pipod('sequential.yaml');
    expect(code).toBe(0);
    expect(summary.status).toBe('Succeeded');
    expect(summary.results).toEqual({ trail: 'abc' });
    const [a, b, c] = ['a', 'b', 'c'].map((t) => summary.tasks[t]);
    expect(Date.parse(b!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a!.finishedAt!));
    expect(Date.parse(c!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(b!.finishedAt!));
    expectNothingLeft('e2e-seq');
  });

  it('fans out and back in over one shared emptyDir workspace', async () => {
    const { code, summary } = await pipod('fan-out-fan-in.yaml', ['-p', 'tag=t1']);
    expect(code).toBe(0);
    expect(summary.results).toEqual({ seen: 'left=t1;middle=t1;right=t1;' });
    const mid = ['left', 'middle', 'right'].map((t) => summary.tasks[t]!);
    // The three middle tasks ran at the same time: each started before any of them finished.
    const lastStart = Math.max(...mid.map((t) => Date.parse(t.startedAt!)));
    const firstEnd = Math.min(...mid.map((t) => Date.parse(t.finishedAt!)));
    expect(lastStart).toBeLessThan(firstEnd);
    expect(Date.parse(summary.tasks.join!.startedAt!)).toBeGreaterThanOrEqual(Math.max(...mid.map((t) => Date.parse(t.finishedAt!))));
    expectNothingLeft('e2e-fan');
  });

  it('passes string and array results between tasks and into pipeline results', async () => {
    const { code, summary } = await pipod('results.yaml', ['-p', 'greeting=hello']);
    expect(code).toBe(0);
    expect(summary.tasks.produce?.results).toEqual({ word: 'hello-there', list: ['x', 'y', 'z'] });
    expect(summary.results).toEqual({ sentence: 'hello-there:x y z', first: 'x' });
  });

  it('skips tasks whose when expressions are false', async () => {
    const { code, summary } = await pipod('when.yaml');
    expect(code).toBe(0);
    expect(statuses(summary)).toEqual({ decide: 'Succeeded', fast: 'Succeeded', slow: 'Skipped', 'after-slow': 'Succeeded', 'by-param': 'Skipped' });
    const other = await pipod('when.yaml', ['-p', 'mode=slow']);
    expect(statuses(other.summary)).toMatchObject({ fast: 'Skipped', slow: 'Succeeded', 'by-param': 'Succeeded' });
  });

  it('runs finally after a failure and exits non-zero', async () => {
    const { code, summary } = await pipod('finally.yaml');
    expect(code).toBe(1);
    expect(summary.status).toBe('Failed');
    expect(statuses(summary)).toEqual({ boom: 'Failed', never: 'Skipped', report: 'Succeeded' });
    expect(summary.tasks.report?.finally).toBe(true);
    expect(summary.tasks.report?.results).toEqual({ seen: 'Failed/Failed' });
    expectNothingLeft('e2e-finally');
  });

  it('retries a task until a later attempt succeeds', async () => {
    const { code, summary } = await pipod('retries.yaml');
    expect(summary.tasks.flaky).toMatchObject({ status: 'Succeeded', attempts: 3, results: { attempt: '2' } });
    expect(summary.tasks.hopeless).toMatchObject({ status: 'Failed', attempts: 2 });
    expect(summary.status).toBe('Failed');
    expect(code).toBe(1);
  });

  it('stops a task at its timeout and still runs finally', async () => {
    const { code, summary } = await pipod('timeout.yaml');
    expect(code).toBe(1);
    expect(summary.tasks.sleepy?.status).toBe('TimedOut');
    expect(summary.tasks.sleepy?.durationMs).toBeLessThan(30_000);
    expect(summary.tasks.quick?.status).toBe('Succeeded');
    expect(summary.tasks.cleanup).toMatchObject({ status: 'Succeeded', results: { seen: 'Failed' } });
    expectNothingLeft('e2e-timeout');
  });

  it('times out the whole pipeline with --timeout', async () => {
    // The budget counts from the run's start, so it must outlast the pod's startup for `long` to start at all.
    const { code, summary } = await pipod('slow.yaml', ['--timeout', '10s']);
    expect(code).toBe(1);
    expect(summary.status).toBe('TimedOut');
    expect(summary.tasks.long?.status).toBe('TimedOut');
    expectNothingLeft('e2e-slow');
  });

  it('counts --timeout from the run\'s start: a budget the pod\'s startup used up skips every task, finally too', async () => {
    const { code, summary } = await pipod('slow.yaml', ['--timeout', '1ms']);
    expect(code).toBe(1);
    expect(summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    for (const t of ['long', 'next', 'tidy']) expect(summary.tasks[t]).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expectNothingLeft('e2e-slow');
  });

  it('continues past a failing step and a failing task with onError: continue', async () => {
    const { code, summary } = await pipod('on-error.yaml');
    expect(code).toBe(0);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks['tolerant-step']).toMatchObject({ status: 'Succeeded', results: { code: '7' } });
    expect(summary.tasks['tolerated-task']?.status).toBe('Failed');
    expect(summary.tasks['after-task']?.status).toBe('Succeeded');
  });

  it('runs steps in a busybox-static image that has no libc', async () => {
    const { code, summary } = await pipod('busybox.yaml');
    expect(code).toBe(0);
    expect(summary.tasks.static?.results).toEqual({ libs: 'none', sum: '42' });
  });

  it('runs two pipelines at once without sharing their workspaces', async () => {
    const [a, b] = await Promise.all([pipod('fan-out-fan-in.yaml', ['-p', 'tag=first']), pipod('fan-out-fan-in.yaml', ['-p', 'tag=second'])]);
    expect(a.summary.results).toEqual({ seen: 'left=first;middle=first;right=first;' });
    expect(b.summary.results).toEqual({ seen: 'left=second;middle=second;right=second;' });
    expect([a.code, b.code]).toEqual([0, 0]);
    expectNothingLeft('e2e-fan');
  });

  it('cancels gracefully on Ctrl-C: finally runs, nothing is left', async () => {
    let sent = false;
    const { code, summary } = await pipod('slow.yaml', [], (err, kill) => {
      if (!sent && err.includes('long: started')) { sent = true; kill('SIGINT'); }
    });
    expect(sent).toBe(true);
    expect(code).toBe(1);
    expect(summary.status).toBe('Cancelled');
    expect(summary.tasks.long?.status).toBe('Cancelled');
    expect(summary.tasks.next?.status).toBe('Skipped');
    expect(summary.tasks.tidy).toMatchObject({ status: 'Succeeded', results: { done: 'yes' } });
    expectNothingLeft('e2e-slow');
  });

  it('cancels immediately on a second Ctrl-C: a running finally task is stopped too', async () => {
    let sent = 0;
    const t0 = Date.now();
    const { code, summary } = await pipod('slow.yaml', ['-p', 'tidy-seconds=120'], (err, kill) => {
      if (sent === 0 && err.includes('long: started')) { sent = 1; kill('SIGINT'); }
      if (sent === 1 && err.includes('tidy: started')) { sent = 2; kill('SIGINT'); }
    });
    expect(sent).toBe(2);
    expect(code).toBe(1);
    expect(summary.status).toBe('Cancelled');
    expect(summary.tasks.tidy?.status).toBe('Cancelled');
    expect(summary.tasks.tidy?.results).toEqual({});
    // Far less than the finally task's 120 s sleep: it was stopped, not waited for.
    expect(Date.now() - t0).toBeLessThan(60_000);
    expectNothingLeft('e2e-slow');
  });
});
