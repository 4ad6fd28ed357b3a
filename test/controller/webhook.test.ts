import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DelegationFacts, type KObject, Kube, MANAGED_BY, Metrics, WEBHOOK_PATH, WebhookServer, admissionResponse, caBundlePatch, certsUsable, delegation,
  generateWebhookCerts, inPodTasks, parentRunName, runEvent, silentLogger,
} from '@pipod/controller';
import * as k8s from '@kubernetes/client-node';

const run = (meta: Record<string, unknown> = {}, spec: Record<string, unknown> = { pipelineRef: { name: 'build' } }): KObject =>
  ({ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'r', namespace: 'team', ...meta }, spec }) as KObject;
const marked = { annotations: { 'pipod.dev/in-pod': 'true' } };
const pipeline = (meta: Record<string, unknown> = {}): KObject => ({ kind: 'Pipeline', metadata: { name: 'build', ...meta } }) as KObject;
const child = run({ name: 'parent-scan', labels: { 'tekton.dev/pipelineTask': 'scan', 'tekton.dev/pipelineRun': 'parent' } }, { pipelineSpec: { tasks: [] } });
const on: DelegationFacts = { enabled: true };

describe('delegation', () => {
  it.each<[string, KObject, DelegationFacts, 'delegate' | 'leave']>([
    ['an annotated Pipeline by pipelineRef', run(), { ...on, pipeline: pipeline(marked) }, 'delegate'],
    ['the run itself annotated', run(marked, { pipelineSpec: { tasks: [] } }), on, 'delegate'],
    ['annotation value is case-insensitive and trimmed', run({ annotations: { 'pipod.dev/in-pod': ' TRUE ' } }), on, 'delegate'],
    ['annotation "false"', run({ annotations: { 'pipod.dev/in-pod': 'false' } }), { ...on, pipeline: pipeline() }, 'leave'],
    ['a plain Pipeline', run(), { ...on, pipeline: pipeline() }, 'leave'],
    ['flag off', run(), { enabled: false, pipeline: pipeline(marked) }, 'leave'],
    ['another manager already', run({}, { managedBy: 'example.dev/other', pipelineRef: { name: 'build' } }), { ...on, pipeline: pipeline(marked) }, 'leave'],
    ['already pipod\'s: nothing to add', run({}, { managedBy: MANAGED_BY }), { ...on, pipeline: pipeline(marked) }, 'leave'],
    ['outside the watched namespace', run(), { ...on, watchNamespace: 'other', pipeline: pipeline(marked) }, 'leave'],
    ['inside the watched namespace', run(), { ...on, watchNamespace: 'team', pipeline: pipeline(marked) }, 'delegate'],
    ['a child whose task the parent run lists', child, { ...on, parent: run({ name: 'parent', annotations: { 'pipod.dev/in-pod-tasks': 'lint, scan' } }) }, 'delegate'],
    ['a child whose task the parent Pipeline lists', child, { ...on, parent: run({ name: 'parent' }), parentPipeline: pipeline({ annotations: { 'pipod.dev/in-pod-tasks': 'scan' } }) }, 'delegate'],
    ['a child whose task is not listed', child, { ...on, parent: run({ name: 'parent', annotations: { 'pipod.dev/in-pod-tasks': 'lint' } }) }, 'leave'],
    ['a listed task name on a run without a parent', child, on, 'leave'],
  ])('%s → %s', (_what, r, facts, want) => expect(delegation(r, facts).kind).toBe(want));

  it('says why', () => {
    expect(delegation(run(), { ...on, pipeline: pipeline(marked) })).toEqual({ kind: 'delegate', because: 'Pipeline build is annotated pipod.dev/in-pod' });
    expect(delegation(run(), { enabled: false })).toEqual({ kind: 'leave', because: 'enable-pipeline-in-pod is off' });
  });

  it.each([
    ['a, b ,,c', ['a', 'b', 'c']],
    ['', []],
  ])('in-pod-tasks %j → %j', (v, want) => expect(inPodTasks({ metadata: { annotations: { 'pipod.dev/in-pod-tasks': v } } })).toEqual(want));

  it('finds the parent by its controller owner reference', () => {
    const owned = run({ ownerReferences: [
      { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: 'not-controller', controller: false },
      { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: 'parent', controller: true },
    ] });
    expect(parentRunName(owned)).toBe('parent');
    expect(parentRunName(run())).toBeUndefined();
  });

  it('answers allowed, with a JSON patch that sets managedBy only when delegating', () => {
    const yes = admissionResponse('u1', { kind: 'delegate', because: '' }, run()) as { response: { uid: string; allowed: boolean; patchType: string; patch: string } };
    expect(yes.response).toMatchObject({ uid: 'u1', allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(yes.response.patch, 'base64').toString())).toEqual([{ op: 'add', path: '/spec/managedBy', value: MANAGED_BY }]);
    expect(admissionResponse('u2', { kind: 'leave', because: '' }, run())).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u2', allowed: true } });
  });
});

describe('webhook certificates', () => {
  const certs = generateWebhookCerts('pipod-webhook', 'pipod-system');

  it('make a CA and a serving certificate for every name of the Service', () => {
    const ca = new X509Certificate(certs.caCert);
    const server = new X509Certificate(certs.serverCert);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe('DNS:pipod-webhook, DNS:pipod-webhook.pipod-system, DNS:pipod-webhook.pipod-system.svc, DNS:pipod-webhook.pipod-system.svc.cluster.local');
    expect(certsUsable(certs, 'pipod-webhook', 'pipod-system')).toBe(true);
  });

  it.each([
    ['another Service name', () => certsUsable(certs, 'other', 'pipod-system')],
    ['another namespace', () => certsUsable(certs, 'pipod-webhook', 'elsewhere')],
    ['less than 30 days left', () => certsUsable(certs, 'pipod-webhook', 'pipod-system', Date.now() + 340 * 86_400_000)],
    ['a server certificate from another CA', () => certsUsable({ ...certs, caCert: generateWebhookCerts('pipod-webhook', 'pipod-system').caCert }, 'pipod-webhook', 'pipod-system')],
    ['garbage', () => certsUsable({ caCert: 'x', serverCert: 'y', serverKey: 'z' }, 'pipod-webhook', 'pipod-system')],
    ['nothing stored', () => certsUsable(undefined, 'pipod-webhook', 'pipod-system')],
  ])('are replaced for %s', (_what, f) => expect(f()).toBe(false));

  it('go into every webhook that lacks the CA, once', () => {
    const bundle = Buffer.from(certs.caCert).toString('base64');
    expect(caBundlePatch({ webhooks: [{ clientConfig: {} }, { clientConfig: { caBundle: bundle } }] }, certs.caCert))
      .toEqual([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: bundle }]);
    expect(caBundlePatch({ webhooks: [{ clientConfig: { caBundle: bundle } }] }, certs.caCert)).toEqual([]);
  });
});

describe('WebhookServer over TLS', () => {
  const certs = generateWebhookCerts('localhost', 'test');
  const metrics = new Metrics();
  let server: WebhookServer;
  let port = 0;
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser({ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'none' });
  const kube = new Kube(kc);
  const seen: KObject[] = [];

  beforeAll(async () => {
    server = new WebhookServer(kube, {
      port: 0, host: '127.0.0.1', cert: certs.serverCert, key: certs.serverKey, log: silentLogger, metrics,
      facts: () => ({ enabled: true }),
      decide: async (r) => {
        seen.push(r);
        if (r.metadata?.name === 'boom') throw new Error('lookup failed');
        return delegation(r, { enabled: true, pipeline: pipeline(marked) });
      },
    });
    const s = await server.start();
    port = (s.address() as { port: number }).port;
  });
  afterAll(() => server.stop());

  const post = (body: unknown, ca = certs.caCert): Promise<{ status: number; json: { response: Record<string, unknown> } }> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: WEBHOOK_PATH, method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { response: Record<string, unknown> } }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  const review = (uid: string, object: KObject, operation = 'CREATE'): unknown =>
    ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation, namespace: 'team', kind: { kind: 'PipelineRun' }, object } });

  it('patches a run of an annotated Pipeline, trusted through the CA it made', async () => {
    const r = await post(review('a', { ...run(), metadata: { name: 'r' } }));
    expect(r.status).toBe(200);
    expect(r.json.response).toMatchObject({ uid: 'a', allowed: true, patchType: 'JSONPatch' });
    // The request's namespace fills a run that does not carry its own.
    expect(seen.at(-1)?.metadata?.namespace).toBe('team');
  });

  it('lets a failing lookup through unchanged (and counts it)', async () => {
    const r = await post(review('b', run({ name: 'boom' })));
    expect(r.json.response).toEqual({ uid: 'b', allowed: true });
    expect(metrics.get('pipod_webhook_requests_total', { decision: 'error' })).toBe(1);
  });

  it('serves a renewed certificate from the next handshake on', async () => {
    const renewed = generateWebhookCerts('localhost', 'test');
    server.useCertificate(renewed.serverCert, renewed.serverKey);
    expect((await post(review('d', run()), renewed.caCert)).json.response).toMatchObject({ uid: 'd', allowed: true });
    await expect(post(review('e', run()), certs.caCert)).rejects.toThrow();
    server.useCertificate(certs.serverCert, certs.serverKey);
  });

  it('never looks at anything but CREATE', async () => {
    const before = seen.length;
    const r = await post(review('c', run(), 'UPDATE'));
    expect(r.json.response).toEqual({ uid: 'c', allowed: true });
    expect(seen.length).toBe(before);
  });
});

describe('runEvent', () => {
  it('is a core/v1 Event on the run, from pipod, with a capped message', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const e = runEvent({ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'r', namespace: 'team', uid: 'u' } }, 'Warning', 'PodDeleted', 'x'.repeat(2000), now, 'abc', 'ctl-1');
    expect(e).toMatchObject({
      metadata: { name: 'r.abc', namespace: 'team' }, type: 'Warning', reason: 'PodDeleted', count: 1,
      involvedObject: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: 'r', namespace: 'team', uid: 'u' },
      source: { component: 'pipod-controller', host: 'ctl-1' }, reportingComponent: 'pipod-controller', firstTimestamp: now,
    });
    expect(e.message?.length).toBe(1000);
  });
});

describe('Metrics histograms', () => {
  it('render cumulative buckets, sum and count per label set', () => {
    const m = new Metrics();
    m.defineHistogram('pipod_x_seconds', 'X.', [1, 5]);
    m.observe('pipod_x_seconds', 0.5, { kind: 'PipelineRun' });
    m.observe('pipod_x_seconds', 3, { kind: 'PipelineRun' });
    m.observe('pipod_x_seconds', 9, { kind: 'PipelineRun' });
    expect(m.render()).toBe([
      '# HELP pipod_x_seconds X.', '# TYPE pipod_x_seconds histogram',
      'pipod_x_seconds_bucket{kind="PipelineRun",le="1"} 1', 'pipod_x_seconds_bucket{kind="PipelineRun",le="5"} 2',
      'pipod_x_seconds_bucket{kind="PipelineRun",le="+Inf"} 3', 'pipod_x_seconds_sum{kind="PipelineRun"} 12.5', 'pipod_x_seconds_count{kind="PipelineRun"} 3', '',
    ].join('\n'));
    expect(m.histogram('pipod_x_seconds', { kind: 'PipelineRun' })).toEqual({ count: 3, sum: 12.5 });
  });
});
