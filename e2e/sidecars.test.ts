/**
 * Sidecars end to end on real podman with a real PostgreSQL (Debian's
 * postgresql-15 in localhost/pipod-test/postgres:15, built by
 * scripts/test-images.sh): task sidecars, a pipeline-level sidecar shared by
 * three tasks and finally, and a sidecar given by the PipelineRun (TEP-0126).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, containersNamed, ensureImages, pipodRunJson, podsNamed, type PipodRunJson } from './helpers.ts';

const RUN_ROOT = '/var/lib/pipod/runs';

/** Runs `pipod run -o json` on a file of e2e/pipelines/ and returns the summary and stderr. */
const pipod = (file: string, args: readonly string[] = []): Promise<PipodRunJson> => pipodRunJson(['-f', join(ROOT, 'e2e/pipelines', file), ...args]);

function expectNothingLeft(prefix: string): void {
  expect(podsNamed(prefix)).toEqual([]);
  expect(containersNamed(prefix)).toEqual([]);
  if (existsSync(RUN_ROOT)) expect(readdirSync(RUN_ROOT).filter((d) => d.startsWith(prefix))).toEqual([]);
}

beforeAll(() => ensureImages(), 900_000);

describe('sidecars on podman', () => {
  it('a PostgreSQL task sidecar is ready (pg_isready) before the step queries it, and gone before the next task', async () => {
    const { code, summary } = await pipod('sidecar-postgres.yaml');
    expect(code).toBe(0);
    // 42 came from psql through the sidecar; the same port check sees it open during the task and closed after.
    expect(summary.results).toEqual({ answer: '42', during: 'open', after: 'closed' });
    expect(Date.parse(summary.tasks.after!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(summary.tasks.db!.finishedAt!));
    expectNothingLeft('e2e-sidecar-postgres');
  }, 180_000);

  it('a pipeline-level PostgreSQL is shared by three tasks and finally, then stopped; its log reaches --logs', async () => {
    const { code, summary, stderr } = await pipod('sidecar-pipeline.yaml', ['--logs']);
    expect(code).toBe(0);
    // The third task checked the server's start time against the first task's: same process.
    expect(summary.results).toEqual({ seen: 'written by first, was here' });
    expect(summary.tasks.check).toMatchObject({ status: 'Succeeded', results: { count: '2' } });
    // Step and sidecar output is `[name] ` for stdout and `[name]! ` for stderr (PostgreSQL logs to stderr).
    const log = stderr.split('\n').filter((l) => /^\[db\]!? /.test(l));
    expect(log.some((l) => l.includes('database system is ready to accept connections'))).toBe(true);
    const shutdown = log.find((l) => l.includes('received smart shutdown request'));
    expect(log.some((l) => l.includes('database system is shut down'))).toBe(true);
    // PostgreSQL stamps its log lines: the SIGTERM came after finally ended.
    const at = /^\[db\]!? (\S+ \S+) UTC/.exec(shutdown ?? '')?.[1];
    expect(at).toBeDefined();
    expect(Date.parse(`${at ?? ''}Z`.replace(' ', 'T'))).toBeGreaterThanOrEqual(Date.parse(summary.tasks.check!.finishedAt!) - 5);
    expectNothingLeft('e2e-sidecar-pipeline');
  }, 180_000);

  it('a task without sidecars gets one from the PipelineRun (taskRunSpecs[].sidecars, TEP-0126)', async () => {
    const { code, summary } = await pipod('sidecar-run.yaml');
    expect(code).toBe(0);
    expect(summary.results).toEqual({ rows: '7' });
    expectNothingLeft('e2e-sidecar-run');
  }, 180_000);
});
