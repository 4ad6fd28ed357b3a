import { describe, expect, it } from 'vitest';
import { type PodHealthInput, podHealth } from '@pipod/controller';
import { DEADLINE_MARGIN_S } from '@pipod/podbuilder';

const created = '2026-01-01T00:00:00.000Z';
const t0 = Date.parse(created);
/** A pod with a 60 s pipeline budget. */
const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}): PodHealthInput['pod'] =>
  ({ metadata: { name: 'r-pipod', creationTimestamp: created, ...extra }, spec: { activeDeadlineSeconds: 60 + DEADLINE_MARGIN_S }, status }) as never;
const unschedulable = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] };
const pulling = { phase: 'Pending', containerStatuses: [{ name: 'step-a', state: { waiting: { reason: 'ContainerCreating' } } }] };
const base = { kind: 'PipelineRun', runName: 'r', cancel: undefined, summarized: false, events: 0, nowMs: t0 + 5000 } as const;

describe('podHealth', () => {
  it.each<[string, Partial<PodHealthInput>, { reason?: string; deletePod: boolean; pending?: string; recheckMs?: number }]>([
    ['running, supervisor speaking: nothing to do', { pod: pod({ phase: 'Running' }), events: 3 }, { deletePod: false }],
    ['succeeded with a summary: the summary decides', { pod: pod({ phase: 'Succeeded' }), summarized: true }, { deletePod: false }],
    ['succeeded without a summary: the pod failed the run', { pod: pod({ phase: 'Succeeded' }) }, { reason: 'PodFailed', deletePod: false }],
    ['evicted after a summary: still a failure', { pod: pod({ phase: 'Failed', reason: 'Evicted', message: 'low memory' }), summarized: true }, { reason: 'PodEvicted', deletePod: false }],
    ['deleted by someone while running', { pod: pod({ phase: 'Running' }, { deletionTimestamp: created }), summarized: true }, { reason: 'PodDeleted', deletePod: false }],
    ['an image that cannot be pulled: fail and delete', {
      pod: pod({ phase: 'Pending', containerStatuses: [{ name: 'step-a', state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }] }),
    }, { reason: 'PodStartFailed', deletePod: true }],
    ['a failed init container: fail and delete', {
      pod: pod({ phase: 'Pending', initContainerStatuses: [{ name: 'prepare', state: { terminated: { exitCode: 2 } } }] }),
    }, { reason: 'PodStartFailed', deletePod: true }],
    ['unschedulable and cancelled: cancelled now, pod deleted', { pod: pod(unschedulable), cancel: 'Cancelled' }, { reason: 'Cancelled', deletePod: true }],
    ['unschedulable and cancelled (CustomRun)', { kind: 'CustomRun', pod: pod(unschedulable), cancel: 'Cancelled' }, { reason: 'CustomRunCancelled', deletePod: true }],
    ['unschedulable, not cancelled: wait, say why, look again at the deadline', { pod: pod(unschedulable) },
      { deletePod: false, pending: 'not scheduled (Unschedulable): 0/1 nodes are available', recheckMs: 56_100 }],
    ['pending past the deadline before the supervisor spoke: timed out, pod deleted', { pod: pod(pulling), nowMs: t0 + 61_000 }, { reason: 'PipelineRunTimeout', deletePod: true }],
    ['the same for a CustomRun', { kind: 'CustomRun', pod: pod(pulling), nowMs: t0 + 61_000 }, { reason: 'CustomRunTimedOut', deletePod: true }],
    ['pending past the deadline but the supervisor spoke: its own timer decides', { pod: pod(pulling), nowMs: t0 + 61_000, events: 1 },
      { deletePod: false, pending: 'container step-a: ContainerCreating' }],
    ['far from the deadline: look again within a minute', { pod: pod(pulling), nowMs: t0 }, { deletePod: false, pending: 'container step-a: ContainerCreating', recheckMs: 60_000 }],
  ])('%s', (_what, input, want) => {
    const h = podHealth({ ...base, pod: pod({}), ...input });
    expect({ reason: h.failure?.reason, deletePod: h.deletePod, pending: h.pending, recheckMs: h.recheckMs })
      .toEqual({ reason: want.reason, deletePod: want.deletePod, pending: want.pending, recheckMs: want.recheckMs });
  });

  it('says why in the failure message and stamps the time', () => {
    const h = podHealth({ ...base, pod: pod(pulling), nowMs: t0 + 61_000 });
    expect(h.failure).toEqual({
      reason: 'PipelineRunTimeout', time: new Date(t0 + 61_000).toISOString(),
      message: 'PipelineRun "r" failed to finish within 60s: its pod never started (container step-a: ContainerCreating)',
    });
  });
});
