import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_BUSYBOX_IMAGE, clusterUnavailable, kubectl, tektonUnavailable, waitForObject } from './cluster.ts';

// The real single-node cluster of e2e/cluster/up: these tests prove it runs
// real pods (and, when installed, real Tekton) before other suites rely on it.
const down = clusterUnavailable();
const noTekton = down ?? tektonUnavailable();
if (down !== undefined) console.warn(`skipping cluster tests: ${down}`);
else if (noTekton !== undefined) console.warn(`skipping Tekton tests: ${noTekton}`);

const suffix = randomBytes(3).toString('hex');
const cleanup: string[][] = [];
afterAll(() => {
  for (const args of cleanup) kubectl(['delete', '--ignore-not-found', '--wait=false', ...args]);
});

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

function conditions(obj: Record<string, unknown>): readonly Condition[] {
  const status = obj.status as { conditions?: Condition[] } | undefined;
  return status?.conditions ?? [];
}

describe.skipIf(down !== undefined)('test cluster', () => {
  it('has exactly one node and it is Ready', () => {
    const r = kubectl(['get', 'nodes', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const nodes = (JSON.parse(r.stdout) as { items: Record<string, unknown>[] }).items;
    expect(nodes).toHaveLength(1);
    const ready = conditions(nodes[0] ?? {}).find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
  });

  it('runs a pod whose two containers share an emptyDir to Succeeded', async () => {
    const name = `cluster-pod-${suffix}`;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'shared', emptyDir: {} }],
        containers: [
          {
            name: 'writer',
            image: CLUSTER_BUSYBOX_IMAGE,
            command: ['sh', '-c', `echo "from writer $HOSTNAME" > /shared/tmp && mv /shared/tmp /shared/msg`],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          },
          {
            name: 'reader',
            image: CLUSTER_BUSYBOX_IMAGE,
            command: ['sh', '-c', 'for i in $(seq 1 300); do [ -f /shared/msg ] && break; sleep 0.1; done; cat /shared/msg'],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          },
        ],
      },
    };
    cleanup.push(['pod', '-n', 'default', name]);
    const created = kubectl(['create', '-f', '-'], JSON.stringify(pod));
    expect(created.code, created.stderr).toBe(0);
    const phase = await waitForObject(
      ['get', 'pod', '-n', 'default', name],
      (o) => {
        const p = (o.status as { phase?: string } | undefined)?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      120_000,
    );
    expect(phase).toBe('Succeeded');
    const logs = kubectl(['logs', '-n', 'default', name, '-c', 'reader']);
    expect(logs.stdout.trim()).toBe(`from writer ${name}`);
  });

  it('stops a native sidecar (restartPolicy Always init container) when the main container ends', async () => {
    const name = `cluster-sidecar-${suffix}`;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 2,
        initContainers: [
          { name: 'side', image: CLUSTER_BUSYBOX_IMAGE, restartPolicy: 'Always', command: ['sleep', '3600'] },
        ],
        containers: [{ name: 'main', image: CLUSTER_BUSYBOX_IMAGE, command: ['sh', '-c', 'echo main done'] }],
      },
    };
    cleanup.push(['pod', '-n', 'default', name]);
    const created = kubectl(['create', '-f', '-'], JSON.stringify(pod));
    expect(created.code, created.stderr).toBe(0);
    const phase = await waitForObject(
      ['get', 'pod', '-n', 'default', name],
      (o) => {
        const p = (o.status as { phase?: string } | undefined)?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      120_000,
    );
    expect(phase).toBe('Succeeded');
    expect(kubectl(['logs', '-n', 'default', name, '-c', 'main']).stdout.trim()).toBe('main done');
  });

  it('lets a pod reach the API server through the kubernetes Service', async () => {
    const name = `cluster-svc-${suffix}`;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'probe',
            image: CLUSTER_BUSYBOX_IMAGE,
            // /version is public, so no credentials: the answer proves the Service routes to the API server.
            command: ['sh', '-c', 'wget -q -O - --no-check-certificate "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/version"'],
          },
        ],
      },
    };
    cleanup.push(['pod', '-n', 'default', name]);
    const created = kubectl(['create', '-f', '-'], JSON.stringify(pod));
    expect(created.code, created.stderr).toBe(0);
    const phase = await waitForObject(
      ['get', 'pod', '-n', 'default', name],
      (o) => {
        const p = (o.status as { phase?: string } | undefined)?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      120_000,
    );
    expect(phase).toBe('Succeeded');
    const version = JSON.parse(kubectl(['logs', '-n', 'default', name]).stdout) as { gitVersion?: string };
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });
});

describe.skipIf(noTekton !== undefined)('Tekton in the test cluster', () => {
  it('runs a PipelineRun of three tasks, passing a result, to Succeeded', async () => {
    const name = `cluster-pr-${suffix}`;
    const step = (script: string) => ({ name: 'main', image: CLUSTER_BUSYBOX_IMAGE, script });
    const run = {
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      metadata: { name, namespace: 'default' },
      spec: {
        pipelineSpec: {
          results: [{ name: 'final', value: '$(tasks.third.results.out)' }],
          tasks: [
            {
              name: 'first',
              taskSpec: { results: [{ name: 'out' }], steps: [step('#!/bin/sh\nprintf one > $(results.out.path)\n')] },
            },
            {
              name: 'second',
              params: [{ name: 'in', value: '$(tasks.first.results.out)' }],
              taskSpec: {
                params: [{ name: 'in' }],
                results: [{ name: 'out' }],
                steps: [step('#!/bin/sh\nprintf "$(params.in)-two" > $(results.out.path)\n')],
              },
            },
            {
              name: 'third',
              params: [{ name: 'in', value: '$(tasks.second.results.out)' }],
              taskSpec: {
                params: [{ name: 'in' }],
                results: [{ name: 'out' }],
                steps: [step('#!/bin/sh\nprintf "$(params.in)-three" > $(results.out.path)\n')],
              },
            },
          ],
        },
      },
    };
    cleanup.push(['pipelinerun', '-n', 'default', name]);
    const created = kubectl(['create', '-f', '-'], JSON.stringify(run));
    expect(created.code, created.stderr).toBe(0);
    const done = await waitForObject(
      ['get', 'pipelinerun', '-n', 'default', name],
      (o) => {
        const c = conditions(o).find((x) => x.type === 'Succeeded');
        return c !== undefined && c.status !== 'Unknown' ? { condition: c, obj: o } : undefined;
      },
      240_000,
    );
    expect(done.condition, JSON.stringify(done.condition)).toMatchObject({ status: 'True' });
    const results = (done.obj.status as { results?: { name: string; value: string }[] }).results;
    expect(results).toEqual([{ name: 'final', value: 'one-two-three' }]);
    const taskRuns = kubectl(['get', 'taskruns', '-n', 'default', '-l', `tekton.dev/pipelineRun=${name}`, '-o', 'name']);
    expect(taskRuns.stdout.trim().split('\n')).toHaveLength(3);
  });
});
