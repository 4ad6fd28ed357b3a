/**
 * The manifests in config/ on the real cluster: the controller image (built
 * without Docker), its least-privilege RBAC, the Deployment holding the
 * Lease, the live feature flag, and a delegated run reconciled in-cluster.
 * The Deployment is limited to this test's namespace so it never races the
 * other suites' controllers. Skips, saying why, when no cluster answers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { type KObject, Kube, RESOURCES } from '@pipod/controller';
import { ROOT, ensureImages } from '../helpers.ts';
import {
  KUBECONFIG, applyDefinitions, clusterProblem, createNamespace, deleteNamespace, fixture, importImages, setFlag, succeeded, waitDone, waitFor,
} from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] deployment tests skipped: ${problem}`);

const NS = `pipod-e2e-deploy-${randomBytes(3).toString('hex')}`;
const SYSTEM = 'pipod-system';
const SA = `system:serviceaccount:${SYSTEM}:pipod-controller`;

/** Every document of config/, in file order. */
function manifests(): Record<string, unknown>[] {
  const dir = join(ROOT, 'config');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as Record<string, unknown>));
}

describe.skipIf(problem !== undefined)('config/ deployed on a real cluster', () => {
  let kube: Kube;
  let objects: k8s.KubernetesObjectApi;
  const applied: k8s.KubernetesObject[] = [];

  beforeAll(async () => {
    ensureImages();
    execFileSync('node', [join(ROOT, 'packages/controller/scripts/image.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
    importImages();
    execFileSync('bash', [join(ROOT, 'e2e/cluster/import-images'), 'localhost/pipod/controller:0.1.0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    kube = Kube.load(KUBECONFIG);
    objects = k8s.KubernetesObjectApi.makeApiClient(kube.config);
    await createNamespace(kube, NS);
    for (const m of manifests()) {
      const o = m as k8s.KubernetesObject & { spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } };
      const c = o.kind === 'Deployment' ? o.spec?.template?.spec?.containers?.[0] : undefined;
      if (c) c.args = [...(c.args ?? []), `--watch-namespace=${NS}`];
      try {
        await objects.create(o);
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
        await objects.patch(o, undefined, undefined, 'pipod-e2e', true, k8s.PatchStrategy.ServerSideApply);
      }
      applied.push(o);
    }
    await waitFor('the controller leads', async () => {
      const l = await kube.getLease(SYSTEM, 'pipod-controller').catch(() => undefined);
      return l?.spec?.holderIdentity?.startsWith('pipod-controller-') ? l : undefined;
    }, 180_000, 1000);
  });

  afterAll(async () => {
    if (!kube) return;
    await deleteNamespace(kube, NS);
    for (const o of [...applied].reverse()) await objects.delete(o).catch(() => undefined);
  });

  it.each([
    ['get', 'tekton.dev', 'pipelineruns', '', true],
    ['patch', 'tekton.dev', 'pipelineruns', 'status', true],
    ['create', 'tekton.dev', 'taskruns', '', true],
    ['create', '', 'pods', '', true],
    ['create', '', 'pods', 'exec', true],
    ['get', '', 'pods', 'log', true],
    ['update', 'tekton.dev', 'pipelineruns', '', false],
    ['delete', '', 'pods', '', false],
    ['get', '', 'secrets', '', false],
    ['create', 'tekton.dev', 'pipelines', '', false],
  ] as const)('RBAC: %s %s/%s%s → allowed=%s', async (verb, group, resource, subresource, allowed) => {
    const authz = kube.config.makeApiClient(k8s.AuthorizationV1Api);
    const r = await authz.createSubjectAccessReview({ body: { spec: { user: SA, groups: ['system:serviceaccounts', `system:serviceaccounts:${SYSTEM}`], resourceAttributes: { verb, group, resource, subresource, namespace: NS } } } });
    expect(r.status?.allowed ?? false).toBe(allowed);
  });

  it('the in-cluster controller follows the live flag and runs a delegated PipelineRun to success', async () => {
    await applyDefinitions(kube, NS, fixture('fanout.yaml'));
    await setFlag(kube, SYSTEM, false);
    const body = (name: string): KObject => ({
      apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, namespace: NS },
      spec: { managedBy: 'pipod.dev/controller', pipelineRef: { name: 'e2e-fanout' }, params: [{ name: 'word', value: 'incluster' }] },
    });
    await kube.createCustom(RESOURCES.pipelineRuns, NS, body('off'));
    expect(succeeded(await waitDone(kube, RESOURCES.pipelineRuns, NS, 'off', 60_000))).toMatchObject({ status: 'False', reason: 'PipelineInPodDisabled' });
    await setFlag(kube, SYSTEM, true);
    // The flag is read live; give the watch a moment rather than restarting anything.
    await new Promise((r) => setTimeout(r, 2000));
    await kube.createCustom(RESOURCES.pipelineRuns, NS, body('on'));
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'on', 180_000);
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Completed' });
    expect((done.status as Record<string, unknown>)['results']).toEqual([{ name: 'joined', value: 'incluster-L+incluster-R' }, { name: 'first', value: 'incluster' }]);
    const trs = (await kube.listCustom(RESOURCES.taskRuns, NS, 'pipod.dev/run=on')).items;
    expect(trs.map((t) => succeeded(t)?.reason).sort()).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']);
  });
});
