/**
 * pipod installed as a platform engineer would (docs/install.md): the
 * controller image on the node, `kubectl apply -f config/`, the flag turned
 * on with one `kubectl patch`; then runs created as users create them, with
 * no `managedBy`, reconciled by the in-cluster controller under the shipped
 * RBAC (its ServiceAccount, not the admin kubeconfig). Two test-only changes
 * to the manifest keep the shared cluster's other suites out of it: the
 * controller watches only this test's namespace, and the webhook only sees it.
 * Skips, saying why, when no cluster answers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { type KObject, Kube, MANAGED_BY, RESOURCES, orNotFound } from '@pipod/controller';
import { ROOT, ensureImages } from '../helpers.ts';
import { CLUSTER_KUBECONFIG, kubectl } from '../cluster/cluster.ts';
import {
  KUBECONFIG, applyDefinitions, clusterProblem, createNamespace, deleteNamespace, fixture, importImages, succeeded, tektonControllerRunning, waitDone, waitFor,
} from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] deployment tests skipped: ${problem}`);

const NS = `pipod-e2e-deploy-${randomBytes(3).toString('hex')}`;
const SYSTEM = 'pipod-system';
const SA = `system:serviceaccount:${SYSTEM}:pipod-controller`;
const TKN = join(execFileSync('bash', ['-c', `. "${join(ROOT, 'e2e/cluster/lib/common.sh')}" && printf %s "$TKN_BIN"`], { encoding: 'utf8' }));

type Rec = Record<string, unknown>;

/** Every document of config/, in file order, as `kubectl apply -f config/` reads them. */
function manifests(): Rec[] {
  const dir = join(ROOT, 'config');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as Rec));
}

/** The manifest with this test's two narrowing changes (see the file comment). */
function testManifest(): string {
  return manifests().map((m) => {
    const o = m as { kind?: string; spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } }; webhooks?: Rec[] };
    const c = o.kind === 'Deployment' ? o.spec?.template?.spec?.containers?.[0] : undefined;
    if (c) c.args = [...(c.args ?? []), `--watch-namespace=${NS}`];
    if (o.kind === 'MutatingWebhookConfiguration') for (const w of o.webhooks ?? []) w['namespaceSelector'] = { matchLabels: { 'kubernetes.io/metadata.name': NS } };
    return stringify(m);
  }).join('---\n');
}

function must(args: readonly string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The documented flag switch. */
function flag(on: boolean): void {
  must(['-n', SYSTEM, 'patch', 'configmap', 'pipod-feature-flags', '--type', 'merge', '-p', JSON.stringify({ data: { 'enable-pipeline-in-pod': on ? 'true' : 'false' } })]);
}

describe.skipIf(problem !== undefined)('pipod installed from config/ on a real cluster', () => {
  let kube: Kube;
  let tekton = false;
  let appliedAt = 0;
  let tektonFlags: string | undefined;
  const timings: Record<string, number> = {};

  const taskRuns = async (run: string): Promise<KObject[]> => (await kube.listCustom(RESOURCES.taskRuns, NS, `tekton.dev/pipelineRun=${run}`)).items;
  const podsOf = async (run: string) => kube.listPods(NS, `tekton.dev/pipelineRun=${run}`);
  const events = async (name: string): Promise<{ reason?: string; type?: string; message?: string; source?: { component?: string } }[]> =>
    (await kube.core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items;
  const create = async (name: string, spec: Rec, meta: Rec = {}): Promise<KObject> =>
    kube.createCustom(RESOURCES.pipelineRuns, NS, { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, namespace: NS, ...meta }, spec } as KObject);
  const metrics = async (): Promise<string> => {
    const [pod] = await kube.listPods(SYSTEM, 'app.kubernetes.io/component=controller');
    return kube.core.connectGetNamespacedPodProxyWithPath({ namespace: SYSTEM, name: `${pod?.metadata?.name ?? ''}:9090`, path: 'metrics' }) as Promise<string>;
  };

  beforeAll(async () => {
    ensureImages();
    execFileSync('node', [join(ROOT, 'packages/controller/scripts/image.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
    importImages();
    execFileSync('bash', [join(ROOT, 'e2e/cluster/import-images'), 'localhost/pipod/controller:0.1.0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    kube = Kube.load(KUBECONFIG);
    tekton = await tektonControllerRunning(kube);
    await createNamespace(kube, NS);
    await waitFor('default service account', async () => (await kube.core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }).catch(() => undefined)) ? true : undefined, 60_000);
    await applyDefinitions(kube, NS, [...fixture('fanout.yaml'), ...fixture('bad-image.yaml')]);
    // The install, as docs/install.md has it: one apply, one patch.
    appliedAt = Date.now();
    must(['apply', '-f', '-'], testManifest());
    flag(true);
    must(['-n', SYSTEM, 'rollout', 'status', 'deploy/pipod-controller', '--timeout=180s']);
    timings['apply → controller ready (s)'] = (Date.now() - appliedAt) / 1000;
  });

  afterAll(async () => {
    if (timings && Object.keys(timings).length > 0) console.log(`[e2e/controller] install timings: ${JSON.stringify(timings)}`);
    if (!kube) return;
    if (tektonFlags !== undefined) {
      kubectl(['-n', 'tekton-pipelines', 'patch', 'configmap', 'feature-flags', '--type', 'merge', '-p', JSON.stringify({ data: { 'enable-api-fields': tektonFlags } })]);
    }
    if (process.env['PIPOD_E2E_KEEP']) return;
    await deleteNamespace(kube, NS);
    kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], testManifest());
  });

  it.each([
    ['get', 'tekton.dev', 'pipelineruns', '', '', NS, true],
    ['patch', 'tekton.dev', 'pipelineruns', 'status', '', NS, true],
    ['patch', 'tekton.dev', 'customruns', 'status', '', NS, true],
    ['create', 'tekton.dev', 'taskruns', '', '', NS, true],
    ['patch', 'tekton.dev', 'taskruns', 'status', '', NS, true],
    ['get', 'tekton.dev', 'pipelines', '', '', NS, true],
    ['create', '', 'pods', '', '', NS, true],
    ['delete', '', 'pods', '', '', NS, true],
    ['create', '', 'pods', 'exec', '', NS, true],
    ['get', '', 'pods', 'log', '', NS, true],
    ['create', '', 'events', '', '', NS, true],
    ['update', 'coordination.k8s.io', 'leases', '', 'pipod-controller', SYSTEM, true],
    ['get', '', 'secrets', '', 'pipod-webhook-certs', SYSTEM, true],
    ['update', '', 'secrets', '', 'pipod-webhook-certs', SYSTEM, true],
    ['patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', '', 'pipod-webhook', '', true],
    // Never more than that.
    ['get', '', 'secrets', '', 'another', SYSTEM, false],
    ['get', '', 'secrets', '', '', NS, false],
    ['patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', '', 'someone-elses', '', false],
    ['update', 'tekton.dev', 'pipelineruns', '', '', NS, false],
    ['delete', 'tekton.dev', 'pipelineruns', '', '', NS, false],
    ['create', 'tekton.dev', 'pipelines', '', '', NS, false],
    ['update', '', 'pods', '', '', NS, false],
    ['get', '', 'configmaps', '', '', NS, false],
  ] as const)('RBAC: %s %s/%s%s %s in %s → allowed=%s', async (verb, group, resource, subresource, name, namespace, allowed) => {
    const authz = kube.config.makeApiClient(k8s.AuthorizationV1Api);
    const r = await authz.createSubjectAccessReview({
      body: { spec: { user: SA, groups: ['system:serviceaccounts', `system:serviceaccounts:${SYSTEM}`], resourceAttributes: { verb, group, resource, subresource, name, namespace } } },
    });
    expect(r.status?.allowed ?? false).toBe(allowed);
  });

  it('the controller made its certificate, keeps it in its Secret and patched the CA into the webhook configuration', async () => {
    const secret = await kube.getSecret(SYSTEM, 'pipod-webhook-certs');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca-cert.pem', 'server-cert.pem', 'server-key.pem']);
    const config = await kube.getMutatingWebhook('pipod-webhook');
    expect(config.webhooks?.[0]?.clientConfig.caBundle).toBe(secret.data?.['ca-cert.pem']);
    expect(config.webhooks?.[0]?.failurePolicy).toBe('Ignore');
  });

  it('(1) an annotated Pipeline started by a plain PipelineRun runs in one pod, with per-task TaskRuns, to success', async () => {
    await applyDefinitions(kube, NS, fixture('in-pod.yaml').filter((d) => (d['metadata'] as Rec)['name'] === 'e2e-in-pod'));
    const created = await create('annotated', { pipelineRef: { name: 'e2e-in-pod' }, params: [{ name: 'word', value: 'adopted' }] });
    expect(created.spec?.['managedBy']).toBe(MANAGED_BY);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'annotated', 180_000);
    timings['apply → first delegated run Succeeded (s)'] = (Date.now() - appliedAt) / 1000;
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(done.status?.['results']).toEqual([{ name: 'out', value: 'adopted-b' }]);
    const pods = await podsOf('annotated');
    expect(pods.map((p) => p.metadata?.labels?.['app.kubernetes.io/managed-by'])).toEqual(['pipod']);
    const trs = await taskRuns('annotated');
    expect(trs.map((t) => [t.metadata?.labels?.['tekton.dev/pipelineTask'], succeeded(t)?.reason]).sort()).toEqual([['a', 'Succeeded'], ['b', 'Succeeded']]);
    const reasons = (await events('annotated')).filter((e) => e.source?.component === 'pipod-controller').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['PodCreated', 'PodStarted', 'RunFinished']));
    const text = await metrics();
    expect(text).toMatch(/^pipod_run_duration_seconds_count\{kind="PipelineRun",reason="Succeeded"\} [1-9]/m);
    expect(text).toMatch(/^pipod_pod_start_duration_seconds_count\{kind="PipelineRun"\} [1-9]/m);
    expect(text).toMatch(/^pipod_reconcile_duration_seconds_count\{kind="PipelineRun"\} [1-9]/m);
    expect(text).toMatch(/^pipod_webhook_requests_total\{decision="delegate"\} [1-9]/m);
  });

  it('what tkn shows for a pipod run', (ctx) => {
    if (!existsSync(TKN)) ctx.skip(`no tkn at ${TKN} (build it with e2e/cluster/build-tkn)`);
    const tkn = (...args: string[]): string => execFileSync(TKN, [...args, '-n', NS], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: CLUSTER_KUBECONFIG } });
    const describe = tkn('pipelinerun', 'describe', 'annotated');
    console.log(`[e2e/controller] tkn pipelinerun describe annotated:\n${describe}`);
    expect(describe).toMatch(/Succeeded/);
    expect(describe).toMatch(/annotated-a/);
    expect(describe).toMatch(/annotated-b/);
    // tkn prints every container of a TaskRun's pod; the run's one pod holds every task's steps and the supervisor.
    const logs = tkn('taskrun', 'logs', 'annotated-b');
    console.log(`[e2e/controller] tkn taskrun logs annotated-b:\n${logs}`);
    expect(logs).toMatch(/^\[b-upper\] b got adopted$/m);
    expect(logs).toMatch(/^\[a-emit\] a says adopted$/m);
    // --step takes the container name (<task>-<step>), which picks one task's steps.
    expect(tkn('taskrun', 'logs', 'annotated-b', '--step', 'b-upper').trim()).toBe('[b-upper] b got adopted');
    const trDescribe = tkn('taskrun', 'describe', 'annotated-b');
    console.log(`[e2e/controller] tkn taskrun describe annotated-b:\n${trDescribe}`);
    expect(trDescribe).toMatch(/^ upper\s+Completed$/m);
    const prLogs = tkn('pipelinerun', 'logs', 'annotated');
    console.log(`[e2e/controller] tkn pipelinerun logs annotated:\n${prLogs}`);
    expect(prLogs).toMatch(/a says adopted/);
  });

  it('(2) a parent run by Tekton: the child pipelines marked to run in one pod are one pod each, the parent Succeeded', async (ctx) => {
    if (!tekton) ctx.skip('Tekton\'s controller is not running on the cluster');
    // Pipelines in pipelines is an alpha field in Tekton.
    const flags = await kube.getConfigMap('tekton-pipelines', 'feature-flags');
    tektonFlags = flags.data?.['enable-api-fields'] ?? 'beta';
    must(['-n', 'tekton-pipelines', 'patch', 'configmap', 'feature-flags', '--type', 'merge', '-p', JSON.stringify({ data: { 'enable-api-fields': 'alpha' } })]);
    await waitFor('Tekton accepts a pipelineSpec pipeline task', async () => {
      await applyDefinitions(kube, NS, fixture('in-pod.yaml'));
      return (await orNotFound(kube.getCustom(RESOURCES.pipelines, NS, 'e2e-parent'))) ? true : undefined;
    }, 60_000, 2000);
    const parent = await create('parent', { pipelineRef: { name: 'e2e-parent' } });
    expect(parent.spec?.['managedBy']).toBeUndefined();
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'parent', 300_000);
    expect(succeeded(done)).toMatchObject({ status: 'True' });
    const children = (await kube.listCustom(RESOURCES.pipelineRuns, NS, 'tekton.dev/pipelineRun=parent')).items;
    expect(children.map((c) => [c.metadata?.labels?.['tekton.dev/pipelineTask'], c.spec?.['managedBy'], succeeded(c)?.status]).sort())
      .toEqual([['child', MANAGED_BY, 'True'], ['embedded', MANAGED_BY, 'True']]);
    for (const c of children) {
      const name = c.metadata?.name ?? '';
      expect((await podsOf(name)).map((p) => p.metadata?.labels?.['app.kubernetes.io/managed-by'])).toEqual(['pipod']);
      expect((await kube.listCustom(RESOURCES.taskRuns, NS, `pipod.dev/run=${name}`)).items.length).toBe(2);
    }
    // The parent's own tasks ran the Tekton way, a pod each.
    const own = (await podsOf('parent')).map((p) => p.metadata?.labels?.['tekton.dev/pipelineTask']).sort();
    expect(own).toEqual(['after', 'before']);
  });

  it('(3) the three pod-delete paths work under the shipped RBAC: a pod that cannot start, a cancelled pod no node takes, a pod past its deadline', async () => {
    const tooBig = (extra: Rec = {}): Rec => ({
      managedBy: MANAGED_BY,
      pipelineSpec: {
        tasks: [{ name: 'big', taskSpec: { steps: [{ name: 's', image: 'localhost/pipod-test/busybox:latest', script: 'true', computeResources: { requests: { cpu: '64' } } }] } }],
        finally: [{ name: 'after', taskSpec: { steps: [{ name: 's', image: 'localhost/pipod-test/busybox:latest', script: 'true' }] } }],
      },
      ...extra,
    });
    await create('bad-image', { managedBy: MANAGED_BY, pipelineRef: { name: 'e2e-bad-image' } });
    await create('cancel-pending', tooBig());
    await create('deadline', tooBig({ timeouts: { pipeline: '8s' } }));
    await waitFor('cancel-pending waits for a node', async () => (succeeded(await kube.getCustom(RESOURCES.pipelineRuns, NS, 'cancel-pending'))?.message?.includes('not scheduled') ? true : undefined), 60_000, 300);
    await kube.patchCustom(RESOURCES.pipelineRuns, NS, 'cancel-pending', [{ op: 'add', path: '/spec/status', value: 'CancelledRunFinally' }]);
    for (const [name, reason] of [['bad-image', 'PodStartFailed'], ['cancel-pending', 'Cancelled'], ['deadline', 'PipelineRunTimeout']] as const) {
      const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, name, 120_000);
      expect(succeeded(done)?.reason).toBe(reason);
      await waitFor(`the pod of ${name} deleted`, async () => ((await podsOf(name)).length === 0 ? true : undefined), 60_000);
      const evs = (await events(name)).filter((e) => e.source?.component === 'pipod-controller');
      expect(evs.find((e) => e.reason === 'PodDeleted')).toMatchObject({ type: 'Warning', message: expect.stringContaining(reason) as unknown });
      expect(evs.find((e) => e.reason === 'RunFailed')).toMatchObject({ type: 'Warning' });
    }
    expect(await metrics()).toMatch(/^pipod_pods_deleted_total\{reason="PodStartFailed"\} 1$/m);
  });

  it('(4) flag off: annotated runs are left to Tekton and succeed the Tekton way; explicitly delegated ones are refused', async (ctx) => {
    flag(false);
    await waitFor('the controller sees the flag off', async () => (/^pipod_feature_enabled 0$/m.test(await metrics()) ? true : undefined), 30_000);
    const explicit = await create('off-explicit', { managedBy: MANAGED_BY, pipelineRef: { name: 'e2e-fanout' } });
    expect(explicit.spec?.['managedBy']).toBe(MANAGED_BY);
    expect(succeeded(await waitDone(kube, RESOURCES.pipelineRuns, NS, 'off-explicit', 60_000))).toMatchObject({ status: 'False', reason: 'PipelineInPodDisabled' });
    if (!tekton) ctx.skip('Tekton\'s controller is not running on the cluster');
    await applyDefinitions(kube, NS, fixture('in-pod.yaml').filter((d) => (d['metadata'] as Rec)['name'] === 'e2e-in-pod'));
    const run = await create('off-annotated', { pipelineRef: { name: 'e2e-in-pod' }, params: [{ name: 'word', value: 'tekton' }] });
    expect(run.spec?.['managedBy']).toBeUndefined();
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'off-annotated', 240_000);
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(done.status?.['results']).toEqual([{ name: 'out', value: 'tekton-b' }]);
    const pods = await podsOf('off-annotated');
    expect(pods.map((p) => p.metadata?.labels?.['app.kubernetes.io/managed-by'])).toEqual(['tekton-pipelines', 'tekton-pipelines']);
  });
});
