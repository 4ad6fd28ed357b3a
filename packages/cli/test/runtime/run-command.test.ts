import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_SETTINGS, PLAN_API_VERSION, type ExecutionPlan } from '@pipod/plan';
import { encodePlan } from '@pipod/podbuilder';
import { logPrefix, withPipelineTimeout } from '../../src/commands/run.ts';
import type { KubePod } from '../../src/runtime/types.ts';

const plan: ExecutionPlan = {
  apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: 1,
  run: { pipelineRunName: 'r', namespace: 'default', uid: 'u', pipelineName: 'p' },
  timeouts: { pipelineMs: 3_600_000, tasksMs: 1_800_000, finallyMs: 600_000 }, params: {}, tasks: [], finally: [], results: [], sidecars: [], settings: DEFAULT_SETTINGS,
};
const pod: KubePod = {
  metadata: { name: 'r-pod' },
  spec: {
    activeDeadlineSeconds: 3660,
    initContainers: [{ name: 'pipod-init', image: 'rt', env: [{ name: 'KEEP', value: '1' }, ...encodePlan(plan).map((value, i) => ({ name: `PIPOD_PLAN_${i}`, value }))] }],
    containers: [{ name: 'pipod-supervisor', image: 'rt' }],
  },
};

function decoded(p: KubePod): ExecutionPlan {
  const env = (p.spec.initContainers?.[0]?.env ?? []) as { name: string; value: string }[];
  const b64 = env.filter((e) => e.name.startsWith('PIPOD_PLAN_')).map((e) => e.value).join('');
  return JSON.parse(gunzipSync(Buffer.from(b64, 'base64')).toString('utf8')) as ExecutionPlan;
}

describe('withPipelineTimeout', () => {
  it('rewrites the plan, the encoded plan the init container reads, and the deadline', () => {
    const r = withPipelineTimeout(pod, plan, 30_000);
    expect(r.plan.timeouts).toEqual({ pipelineMs: 30_000 });
    expect(decoded(r.pod).timeouts).toEqual({ pipelineMs: 30_000 });
    expect(r.pod.spec.activeDeadlineSeconds).toBe(90);
    expect((r.pod.spec.initContainers?.[0]?.env as { name: string }[])[0]).toEqual({ name: 'KEEP', value: '1' });
  });

  it('keeps task and finally budgets that still fit', () => {
    expect(withPipelineTimeout(pod, plan, 7_200_000).plan.timeouts).toEqual({ pipelineMs: 7_200_000, tasksMs: 1_800_000, finallyMs: 600_000 });
  });

  it('0 means no timeout', () => {
    const r = withPipelineTimeout(pod, plan, 0);
    expect(r.plan.timeouts).toEqual({});
    expect(r.pod.spec.activeDeadlineSeconds).toBeUndefined();
  });
});

describe('logPrefix', () => {
  it('names task and step, or the container', () => {
    expect(logPrefix({ container: 'a-s', task: 'a', step: 's', stream: 'stdout', text: '' })).toBe('[a/s]');
    expect(logPrefix({ container: 'db', step: 'db', stream: 'stdout', text: '' })).toBe('[db]');
    expect(logPrefix({ container: 'pipod-supervisor', stream: 'stderr', text: '' })).toBe('[pipod-supervisor]');
  });
});
