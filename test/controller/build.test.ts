import { describe, expect, it } from 'vitest';
import { type KObject, type RefSource, ANNOTATION_TASKS, PrefetchedResolver, buildRunPod, dropNulls, pipelineRunForCustomRun } from '@pipod/controller';

const task = (name: string, script: string, results: string[] = []): KObject => ({
  apiVersion: 'tekton.dev/v1', kind: 'Task',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { ...(results.length ? { results: results.map((r) => ({ name: r })) } : {}), steps: [{ name: 'main', image: 'localhost/pipod-test/debian:bookworm', script }] },
  status: {},
});

const pipeline: KObject = {
  apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'p', namespace: 'ns', uid: 'uid-p', generation: 3 } as KObject['metadata'],
  spec: {
    results: [{ name: 'out', value: '$(tasks.a.results.v)' }],
    tasks: [
      { name: 'a', taskRef: { name: 'produce' } },
      { name: 'b', taskRef: { name: 'consume' }, runAfter: ['a'] },
      { name: 'c', taskRef: { name: 'consume' }, runAfter: ['a'] },
    ],
    finally: [{ name: 'f', taskRef: { name: 'cleanup' } }],
  },
};

class MemorySource implements RefSource {
  readonly calls: string[] = [];
  constructor(private readonly objs: readonly KObject[]) {}
  private find(kind: string, name: string): KObject | undefined {
    this.calls.push(`${kind}/${name}`);
    return this.objs.find((o) => o.kind === kind && o.metadata?.name === name);
  }
  pipeline(_ns: string, name: string): Promise<KObject | undefined> { return Promise.resolve(this.find('Pipeline', name)); }
  task(_ns: string, name: string): Promise<KObject | undefined> { return Promise.resolve(this.find('Task', name)); }
}

const run: KObject = {
  apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'r1', namespace: 'ns', uid: 'uid-r1' },
  spec: { managedBy: 'pipod.dev/controller', pipelineRef: { name: 'p' } },
};

describe('PrefetchedResolver', () => {
  it('fetches the pipeline and each referenced task once, recording what is missing', async () => {
    const src = new MemorySource([pipeline, task('produce', 'echo -n hi > $(results.v.path)', ['v']), task('consume', 'true')]);
    const r = await PrefetchedResolver.prefetch(src, 'ns', run as unknown as Record<string, unknown>);
    expect(src.calls).toEqual(['Pipeline/p', 'Task/produce', 'Task/consume', 'Task/cleanup']);
    expect(r.missingTasks).toEqual(['cleanup']);
    expect(r.task('produce')?.source).toBe('Task/produce');
    expect(r.task('produce')?.body['status']).toBeUndefined();
    expect(r.pipeline('p')?.body['metadata']).toEqual({ name: 'p', namespace: 'ns' });
  });
});

describe('buildRunPod', () => {
  const all = [pipeline, task('produce', 'echo -n hi > $(results.v.path)', ['v']), task('consume', 'true'), task('cleanup', 'true')];

  it('builds the pod from cluster documents and stamps name, owner, labels and task shapes', async () => {
    const b = await buildRunPod(new MemorySource(all), run, run as unknown as Record<string, unknown>, 'r1-pipod', { startTime: '2026-11-22T10:00:00.000Z' });
    expect(b.kind).toBe('ok');
    if (b.kind !== 'ok') return;
    const meta = b.pod['metadata'] as { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: unknown[] };
    expect(meta.name).toBe('r1-pipod');
    expect(meta.namespace).toBe('ns');
    expect(meta.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'pipod', 'pipod.dev/run-uid': 'uid-r1', 'pipod.dev/run-kind': 'PipelineRun', 'pipod.dev/run': 'r1' });
    expect(meta.ownerReferences).toEqual([{ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: 'r1', uid: 'uid-r1', controller: true, blockOwnerDeletion: true }]);
    const shapes = JSON.parse(meta.annotations[ANNOTATION_TASKS] ?? '{}') as Record<string, { steps: { name: string }[]; results: { name: string }[] }>;
    expect(Object.keys(shapes).sort()).toEqual(['a', 'b', 'c', 'f']);
    expect(shapes['a']?.results).toEqual([{ name: 'v', type: 'string' }]);
    // The run's timeouts count from the start time the controller passes (its clock when it builds the pod).
    expect(b.plan.run).toMatchObject({ pipelineRunName: 'r1', namespace: 'ns', uid: 'uid-r1', startTime: '2026-11-22T10:00:00.000Z' });
  });

  it.each([
    ['a missing pipeline', [] as KObject[], 'CouldntGetPipeline', 'Pipeline "p" not found in namespace ns'],
    ['a missing task', [pipeline, task('produce', 'true', ['v']), task('consume', 'true')], 'CouldntGetTask', 'Task "cleanup" not found in namespace ns'],
  ])('%s fails with Tekton\'s reason', async (_n, objs, reason, message) => {
    const b = await buildRunPod(new MemorySource(objs), run, run as unknown as Record<string, unknown>, 'r1-pipod');
    expect(b).toEqual({ kind: 'failed', reason, message });
  });

  it('invalid pipelines fail validation with the builder\'s field paths', async () => {
    const bad: KObject = { ...pipeline, spec: { tasks: [{ name: 'a', taskRef: { name: 'produce' }, runAfter: ['nope'] }] } };
    const b = await buildRunPod(new MemorySource([bad, task('produce', 'true')]), run, run as unknown as Record<string, unknown>, 'r1-pipod');
    expect(b.kind).toBe('failed');
    if (b.kind === 'failed') {
      expect(b.reason).toBe('PipelineValidationFailed');
      expect(b.message).toContain('nope');
    }
  });

  it('a CustomRun becomes a PipelineRun with its params and an embedded spec', async () => {
    const cr: KObject = {
      apiVersion: 'tekton.dev/v1beta1', kind: 'CustomRun', metadata: { name: 'parent-mid', namespace: 'ns', uid: 'uid-cr' },
      spec: {
        customSpec: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', spec: { params: [{ name: 'x' }], results: [{ name: 'y', value: '$(tasks.t.results.v)' }], tasks: [{ name: 't', params: [{ name: 'x', value: '$(params.x)' }], taskSpec: { params: [{ name: 'x' }], results: [{ name: 'v' }], steps: [{ name: 's', image: 'localhost/pipod-test/debian:bookworm', script: 'echo -n $(params.x) > $(results.v.path)' }] } }] } },
        params: [{ name: 'x', value: 'hello' }],
        timeout: '5m',
      },
    };
    const b = await buildRunPod(new MemorySource([]), cr, pipelineRunForCustomRun(cr), 'parent-mid-pipod');
    expect(b.kind).toBe('ok');
    if (b.kind !== 'ok') return;
    expect(b.plan.params).toEqual({ x: 'hello' });
    expect(b.plan.timeouts.pipelineMs).toBe(300_000);
    expect((b.pod['metadata'] as { labels: Record<string, string> }).labels['tekton.dev/customRun']).toBe('parent-mid');
    expect((b.pod['spec'] as { activeDeadlineSeconds?: number }).activeDeadlineSeconds).toBeGreaterThanOrEqual(300);
  });
});

describe('buildRunPod image lookups', () => {
  const noCommand: KObject = {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'img', namespace: 'ns', uid: 'u' },
    spec: { pipelineSpec: { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'example.test/tool:1' }] } }] } },
  };
  const body = noCommand as unknown as Record<string, unknown>;

  it('asks for the images of steps without a command and uses their entrypoint', async () => {
    const asked: string[][] = [];
    const b = await buildRunPod(new MemorySource([]), noCommand, body, 'img-pipod', {
      images: (imgs) => { asked.push([...imgs]); return Promise.resolve(new Map([[imgs[0] ?? '', { kind: 'found' as const, config: { entrypoint: ['/tool'], cmd: ['--run'] }, source: 'test' }]])); },
    });
    expect(asked).toEqual([['example.test/tool:1']]);
    expect(b.kind).toBe('ok');
    if (b.kind === 'ok') expect(b.plan.tasks[0]?.steps[0]?.command).toEqual(['/tool']);
  });

  it('fails with ImageConfigUnavailable and the lookup\'s message when an image cannot be resolved', async () => {
    const b = await buildRunPod(new MemorySource([]), noCommand, body, 'img-pipod', {
      images: () => Promise.resolve(new Map([['example.test/tool:1', { kind: 'failed' as const, message: 'cannot resolve the entrypoint of image "example.test/tool:1" (registry: 404)', reasons: 'registry: 404' }]])),
    });
    expect(b).toEqual({ kind: 'failed', reason: 'ImageConfigUnavailable', message: 'cannot resolve the entrypoint of image "example.test/tool:1" (registry: 404)' });
  });
});

describe('documents as Tekton\'s webhook stores them', () => {
  it('null fields (an embedded taskSpec\'s `spec: null`) are dropped, so they do not read as custom tasks', async () => {
    const stored: KObject = {
      apiVersion: 'tekton.dev/v1', kind: 'Pipeline', metadata: { name: 'p', namespace: 'ns' },
      spec: { tasks: [{ name: 'first', taskSpec: { metadata: {}, spec: null, steps: [{ computeResources: {}, image: 'localhost/pipod-test/debian:bookworm', name: 'quick', script: 'echo first\n' }] } }] },
    };
    const b = await buildRunPod(new MemorySource([stored]), run, run as unknown as Record<string, unknown>, 'r1-pipod');
    expect(b.kind === 'failed' ? b.message : 'ok').toBe('ok');
    expect(dropNulls({ a: null, b: [{ c: null, d: 1 }], e: { f: null }, emptyDir: {}, taskSpec: { metadata: {} }, pipelineSpec: { metadata: { labels: { x: 'y' } } } }))
      .toEqual({ b: [{ d: 1 }], e: {}, emptyDir: {}, taskSpec: {}, pipelineSpec: { metadata: { labels: { x: 'y' } } } });
  });
});
