/**
 * The mutating admission webhook: on PipelineRun CREATE it hands runs of
 * Pipelines marked to run in one pod to pipod (`spec.managedBy`), whoever
 * creates them (kubectl, tkn, Triggers, Pipelines-as-Code, a parent
 * pipeline). The decision is pure (`delegation`); `lookupDelegation` reads
 * what it needs; `WebhookServer` speaks AdmissionReview over HTTPS.
 */
import { type Server, createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureWebhookCerts, syncCaBundle } from './cert.ts';
import type { Kube, KObject } from './kube.ts';
import { RESOURCES, orNotFound } from './kube.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { MANAGED_BY } from './rules.ts';

/** Annotation on a Pipeline (or a PipelineRun) that runs it in one pod. */
export const ANNOTATION_IN_POD = 'pipod.dev/in-pod';
/** Annotation on a parent Pipeline or PipelineRun naming its sub-pipeline tasks to run in one pod each (comma-separated). */
export const ANNOTATION_IN_POD_TASKS = 'pipod.dev/in-pod-tasks';
/** The label Tekton puts on a child PipelineRun (and TaskRuns): the parent's pipeline task. */
export const LABEL_PIPELINE_TASK = 'tekton.dev/pipelineTask';
/** The label Tekton puts on a child PipelineRun: the parent PipelineRun's name. */
export const LABEL_PARENT_RUN = 'tekton.dev/pipelineRun';
/** The path the webhook serves. */
export const WEBHOOK_PATH = '/mutate/pipelineruns';

/** What the decision may look at besides the run. */
export interface DelegationFacts {
  /** The feature flag. */
  readonly enabled: boolean;
  /** The namespace the controller reconciles, when it is limited to one. */
  readonly watchNamespace?: string;
  /** The Pipeline the run's `pipelineRef` names, when it exists. */
  readonly pipeline?: KObject;
  /** For a child run (Tekton's pipelines in pipelines): the parent PipelineRun and its Pipeline. */
  readonly parent?: KObject;
  readonly parentPipeline?: KObject;
}

/** The webhook's answer for one run. */
export type Delegation =
  | { readonly kind: 'delegate'; readonly because: string }
  | { readonly kind: 'leave'; readonly because: string };

function marked(o: KObject | undefined): boolean {
  return (o?.metadata?.annotations?.[ANNOTATION_IN_POD] ?? '').trim().toLowerCase() === 'true';
}

/** The task names an `in-pod-tasks` annotation lists. */
export function inPodTasks(o: KObject | undefined): string[] {
  return (o?.metadata?.annotations?.[ANNOTATION_IN_POD_TASKS] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The Pipeline name a PipelineRun refers to by `pipelineRef.name` (not a remote resolver). */
export function pipelineRefName(run: KObject): string | undefined {
  const ref = run.spec?.['pipelineRef'] as { name?: unknown; resolver?: unknown } | undefined;
  return typeof ref?.name === 'string' && ref.name !== '' && ref.resolver === undefined ? ref.name : undefined;
}

/** The parent PipelineRun's name of a child run Tekton created, from its controller owner reference. */
export function parentRunName(run: KObject): string | undefined {
  const owner = (run.metadata?.ownerReferences ?? []).find((r) => {
    const o = r as { kind?: unknown; apiVersion?: unknown; controller?: unknown };
    return o.kind === 'PipelineRun' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('tekton.dev/') && o.controller === true;
  }) as { name?: string } | undefined;
  return owner?.name ?? undefined;
}

/**
 * Whether a PipelineRun being created goes to pipod (pure): never when the
 * flag is off, the run is not in the watched namespace, or it already names
 * a manager; yes when the run or its Pipeline carries `pipod.dev/in-pod:
 * "true"`, or its parent (run or Pipeline) lists its pipeline task in
 * `pipod.dev/in-pod-tasks`.
 */
export function delegation(run: KObject, f: DelegationFacts): Delegation {
  const managedBy = run.spec?.['managedBy'];
  if (typeof managedBy === 'string' && managedBy !== '') return { kind: 'leave', because: `managedBy is already ${managedBy}` };
  if (!f.enabled) return { kind: 'leave', because: 'enable-pipeline-in-pod is off' };
  if (f.watchNamespace !== undefined && run.metadata?.namespace !== f.watchNamespace) return { kind: 'leave', because: `the controller only watches namespace ${f.watchNamespace}` };
  if (marked(run)) return { kind: 'delegate', because: `the PipelineRun is annotated ${ANNOTATION_IN_POD}` };
  if (marked(f.pipeline)) return { kind: 'delegate', because: `Pipeline ${f.pipeline?.metadata?.name ?? ''} is annotated ${ANNOTATION_IN_POD}` };
  const task = run.metadata?.labels?.[LABEL_PIPELINE_TASK];
  if (task && f.parent) {
    for (const o of [f.parent, f.parentPipeline]) {
      if (inPodTasks(o).includes(task)) return { kind: 'delegate', because: `${o?.kind ?? 'parent'} ${o?.metadata?.name ?? ''} lists task ${task} in ${ANNOTATION_IN_POD_TASKS}` };
    }
  }
  return { kind: 'leave', because: 'nothing marks it to run in one pod' };
}

/** The JSON patch that delegates a run. */
export function delegationPatch(run: KObject): { op: string; path: string; value: unknown }[] {
  return run.spec ? [{ op: 'add', path: '/spec/managedBy', value: MANAGED_BY }] : [{ op: 'add', path: '/spec', value: { managedBy: MANAGED_BY } }];
}

/** Reads what `delegation` needs from the cluster (only what the run can use) and decides. */
export async function lookupDelegation(kube: Kube, run: KObject, base: Pick<DelegationFacts, 'enabled' | 'watchNamespace'>): Promise<Delegation> {
  const quick = delegation(run, base);
  // Nothing to look up when the answer cannot change, or the run already says yes.
  if (quick.kind === 'delegate' || !base.enabled || (typeof run.spec?.['managedBy'] === 'string' && run.spec['managedBy'] !== '')) return quick;
  if (base.watchNamespace !== undefined && run.metadata?.namespace !== base.watchNamespace) return quick;
  const ns = run.metadata?.namespace ?? 'default';
  const getPipeline = async (name: string | undefined): Promise<KObject | undefined> => (name ? orNotFound(kube.getCustom(RESOURCES.pipelines, ns, name)) : undefined);
  const pipeline = await getPipeline(pipelineRefName(run));
  const parentName = run.metadata?.labels?.[LABEL_PIPELINE_TASK] ? parentRunName(run) ?? run.metadata.labels[LABEL_PARENT_RUN] : undefined;
  const parent = parentName ? await orNotFound(kube.getCustom(RESOURCES.pipelineRuns, ns, parentName)) : undefined;
  const parentPipeline = parent && inPodTasks(parent).length === 0 ? await getPipeline(pipelineRefName(parent)) : undefined;
  return delegation(run, { ...base, ...(pipeline ? { pipeline } : {}), ...(parent ? { parent } : {}), ...(parentPipeline ? { parentPipeline } : {}) });
}

/** An AdmissionReview request as the API server sends it (only the parts used). */
interface AdmissionRequest {
  readonly uid?: string;
  readonly operation?: string;
  readonly kind?: { readonly kind?: string };
  readonly object?: KObject;
  readonly namespace?: string;
}

/** The AdmissionReview response for one request: allowed always (the webhook only mutates), with a patch when delegating. */
export function admissionResponse(uid: string, d: Delegation | undefined, run: KObject | undefined): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: true };
  if (d?.kind === 'delegate' && run) {
    response['patchType'] = 'JSONPatch';
    response['patch'] = Buffer.from(JSON.stringify(delegationPatch(run))).toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** Options of the webhook server. */
export interface WebhookOptions {
  readonly port: number;
  readonly host?: string;
  readonly cert: string;
  readonly key: string;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Asked per request: the flag and namespace scope as they are now. */
  readonly facts: () => Pick<DelegationFacts, 'enabled' | 'watchNamespace'>;
  /** Decides for one run (default: `lookupDelegation` against `kube`). */
  readonly decide?: (run: KObject, base: Pick<DelegationFacts, 'enabled' | 'watchNamespace'>) => Promise<Delegation>;
}

function readBody(req: IncomingMessage, limit = 3 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves the webhook over HTTPS; every failure still answers "allowed, unchanged" so a run is never blocked by pipod. */
export class WebhookServer {
  private server: Server | undefined;

  constructor(private readonly kube: Kube, private readonly opts: WebhookOptions) {
    opts.metrics?.define('pipod_webhook_requests_total', 'counter', 'Admission requests by decision (delegate, leave, error).');
    opts.metrics?.defineHistogram('pipod_webhook_duration_seconds', 'Time to answer an admission request.');
  }

  /** Starts listening; resolves once it does. */
  async start(): Promise<Server> {
    const server = createServer({ cert: this.opts.cert, key: this.opts.key, minVersion: 'TLSv1.2' }, (req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '0.0.0.0', () => resolve());
    });
    return server;
  }

  /** Serves another certificate from the next TLS handshake on. */
  useCertificate(cert: string, key: string): void {
    this.server?.setSecureContext({ cert, key });
  }

  /** Stops listening. */
  stop(): void {
    this.server?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (req.method !== 'POST' || req.url?.split('?')[0] !== WEBHOOK_PATH) {
      res.writeHead(404);
      res.end();
      return;
    }
    const t0 = performance.now();
    let uid = '';
    let body: Record<string, unknown>;
    try {
      const review = JSON.parse(await readBody(req)) as { request?: AdmissionRequest };
      const r = review.request ?? {};
      uid = r.uid ?? '';
      const run = r.object;
      let d: Delegation | undefined;
      if (r.operation === 'CREATE' && run && (r.kind?.kind ?? run.kind) === 'PipelineRun') {
        const base = this.opts.facts();
        d = await (this.opts.decide ?? ((o, b) => lookupDelegation(this.kube, o, b)))({ ...run, metadata: { ...run.metadata, namespace: run.metadata?.namespace ?? r.namespace } }, base);
        this.opts.log.log(d.kind === 'delegate' ? 'info' : 'debug', d.kind === 'delegate' ? 'webhook delegates run' : 'webhook leaves run', {
          run: `${r.namespace ?? ''}/${run.metadata?.name ?? ''}`, because: d.because,
        });
      }
      this.opts.metrics?.inc('pipod_webhook_requests_total', { decision: d?.kind ?? 'leave' });
      body = admissionResponse(uid, d, run);
    } catch (e) {
      // failurePolicy is Ignore anyway; answering "allowed" says the same without the API server's timeout.
      this.opts.metrics?.inc('pipod_webhook_requests_total', { decision: 'error' });
      this.opts.log.log('warn', 'webhook request failed; run left unchanged', { error: e instanceof Error ? e.message : String(e) });
      body = admissionResponse(uid, undefined, undefined);
    }
    this.opts.metrics?.observe('pipod_webhook_duration_seconds', (performance.now() - t0) / 1000);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/** Where the webhook's certificate lives and who must trust it. */
export interface WebhookSetup extends Omit<WebhookOptions, 'cert' | 'key'> {
  /** The controller's namespace (Secret and Service live here). */
  readonly namespace: string;
  readonly service: string;
  readonly secret: string;
  /** The MutatingWebhookConfiguration that gets the CA bundle. */
  readonly configuration: string;
  /** How often the CA bundle is checked again (a re-applied manifest may have dropped it). */
  readonly resyncMs?: number;
}

/**
 * Makes or reads the certificate, serves the webhook and keeps the CA bundle
 * in the configuration. Every resync reads the Secret again: a certificate
 * another replica renewed (or this one renews near expiry) is served from
 * then on and its CA patched in, so all replicas converge on one.
 */
export async function serveWebhook(kube: Kube, o: WebhookSetup): Promise<{ readonly server: WebhookServer; stop(): void }> {
  const where = { namespace: o.namespace, secret: o.secret, service: o.service };
  let certs = await ensureWebhookCerts(kube, where);
  const server = new WebhookServer(kube, { ...o, cert: certs.serverCert, key: certs.serverKey });
  await server.start();
  const sync = async (): Promise<void> => {
    try {
      const now = await ensureWebhookCerts(kube, where);
      if (now.serverCert !== certs.serverCert) {
        certs = now;
        server.useCertificate(now.serverCert, now.serverKey);
        o.log.log('info', 'serving a renewed webhook certificate', { secret: `${o.namespace}/${o.secret}` });
      }
      if (await syncCaBundle(kube, o.configuration, certs.caCert)) o.log.log('info', 'patched the CA bundle into the webhook configuration', { configuration: o.configuration });
    } catch (e) {
      o.log.log('warn', 'could not sync the webhook certificate or configuration', { configuration: o.configuration, error: e instanceof Error ? e.message : String(e) });
    }
  };
  await sync();
  const timer = setInterval(() => void sync(), o.resyncMs ?? 60_000);
  return { server, stop: () => { clearInterval(timer); server.stop(); } };
}
