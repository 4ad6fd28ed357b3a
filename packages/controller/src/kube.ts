/**
 * The thin I/O layer: every Kubernetes call the controller (and the
 * kubernetes runtime of `pipod run`) makes goes through this class, so the
 * rest of the code sees plain objects and typed errors with HTTP statuses.
 */
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { KubeApiError, httpStatus } from './errors.ts';

/** A Kubernetes object as plain JSON. */
export interface KObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly unknown[];
    readonly deletionTimestamp?: string;
    readonly creationTimestamp?: string;
  };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly status?: Readonly<Record<string, unknown>>;
  readonly data?: Readonly<Record<string, string>>;
}

/** A custom resource type: group, version, plural. */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** The Tekton and pipod resources the controller touches. */
export const RESOURCES = {
  pipelineRuns: { group: 'tekton.dev', version: 'v1', plural: 'pipelineruns' },
  taskRuns: { group: 'tekton.dev', version: 'v1', plural: 'taskruns' },
  pipelines: { group: 'tekton.dev', version: 'v1', plural: 'pipelines' },
  tasks: { group: 'tekton.dev', version: 'v1', plural: 'tasks' },
  customRuns: { group: 'tekton.dev', version: 'v1beta1', plural: 'customruns' },
} as const satisfies Record<string, Resource>;

/** A core/v1 object a run may bring along (see `@pipod/podbuilder`'s KubeObject). */
export interface CoreObject {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap' | 'Secret' | 'ServiceAccount';
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

/** Wraps a client-node call: errors become KubeApiError with the HTTP status (branch on it, not on text). */
async function call<T>(operation: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const status = httpStatus(e);
    const body = (e as { body?: unknown }).body;
    let detail = e instanceof Error ? e.message : String(e);
    if (typeof body === 'string') {
      try {
        const m = (JSON.parse(body) as { message?: unknown }).message;
        if (typeof m === 'string') detail = m;
      } catch { /* keep the error's own message */ }
    }
    throw new KubeApiError(status, operation, detail.split('\n')[0] ?? detail);
  }
}

/** Returns undefined on 404 instead of throwing. */
export async function orNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** True when `e` is an API error with this HTTP status. */
export function isStatus(e: unknown, status: number): boolean {
  return e instanceof KubeApiError && e.status === status;
}

/** Everything the controller needs from a cluster. */
export class Kube {
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly admission: k8s.AdmissionregistrationV1Api;

  constructor(readonly config: k8s.KubeConfig) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
    this.custom = config.makeApiClient(k8s.CustomObjectsApi);
    this.coordination = config.makeApiClient(k8s.CoordinationV1Api);
    this.admission = config.makeApiClient(k8s.AdmissionregistrationV1Api);
  }

  /** Loads a kubeconfig file, or the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  static load(kubeconfig?: string): Kube {
    const kc = new k8s.KubeConfig();
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    return new Kube(kc);
  }

  /** The namespace of the current context (default when none). */
  currentNamespace(): string {
    const ctx = this.config.getContextObject(this.config.getCurrentContext());
    return ctx?.namespace ?? 'default';
  }

  /** GETs a namespaced custom object. */
  getCustom(r: Resource, namespace: string, name: string): Promise<KObject> {
    return call(`get ${r.plural} ${namespace}/${name}`, () => this.custom.getNamespacedCustomObject({ ...r, namespace, name }) as Promise<KObject>);
  }

  /** Lists custom objects in one namespace, or in all when namespace is undefined. */
  async listCustom(r: Resource, namespace?: string, labelSelector?: string): Promise<{ items: KObject[]; resourceVersion?: string }> {
    const res = (await call(`list ${r.plural}`, () =>
      namespace === undefined
        ? this.custom.listClusterCustomObject({ ...r, ...(labelSelector ? { labelSelector } : {}) })
        : this.custom.listNamespacedCustomObject({ ...r, namespace, ...(labelSelector ? { labelSelector } : {}) }),
    )) as { items?: KObject[]; metadata?: { resourceVersion?: string } };
    return { items: res.items ?? [], ...(res.metadata?.resourceVersion ? { resourceVersion: res.metadata.resourceVersion } : {}) };
  }

  /** Creates a namespaced custom object. */
  createCustom(r: Resource, namespace: string, body: KObject): Promise<KObject> {
    return call(`create ${r.plural} ${namespace}/${body.metadata?.name ?? ''}`, () => this.custom.createNamespacedCustomObject({ ...r, namespace, body }) as Promise<KObject>);
  }

  /** Replaces the whole `status` of a custom object (JSON patch on the status subresource: no read-modify-write race). */
  patchCustomStatus(r: Resource, namespace: string, name: string, status: unknown): Promise<KObject> {
    return call(`patch ${r.plural}/status ${namespace}/${name}`, () =>
      this.custom.patchNamespacedCustomObjectStatus({ ...r, namespace, name, body: [{ op: 'add', path: '/status', value: status }] }) as Promise<KObject>);
  }

  /** JSON-patches a custom object (not its status). */
  patchCustom(r: Resource, namespace: string, name: string, ops: readonly unknown[]): Promise<KObject> {
    return call(`patch ${r.plural} ${namespace}/${name}`, () => this.custom.patchNamespacedCustomObject({ ...r, namespace, name, body: ops }) as Promise<KObject>);
  }

  /** Deletes a custom object. */
  async deleteCustom(r: Resource, namespace: string, name: string): Promise<void> {
    await call(`delete ${r.plural} ${namespace}/${name}`, () => this.custom.deleteNamespacedCustomObject({ ...r, namespace, name }));
  }

  /** GETs a pod. */
  getPod(namespace: string, name: string): Promise<k8s.V1Pod> {
    return call(`get pod ${namespace}/${name}`, () => this.core.readNamespacedPod({ namespace, name }));
  }

  /** Creates a pod. */
  createPod(namespace: string, body: k8s.V1Pod): Promise<k8s.V1Pod> {
    return call(`create pod ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.createNamespacedPod({ namespace, body }));
  }

  /** Deletes a pod. */
  async deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    await call(`delete pod ${namespace}/${name}`, () => this.core.deleteNamespacedPod({ namespace, name, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) }));
  }

  /** Lists pods by label. */
  async listPods(namespace: string | undefined, labelSelector: string): Promise<k8s.V1Pod[]> {
    const res = await call('list pods', () =>
      namespace === undefined ? this.core.listPodForAllNamespaces({ labelSelector }) : this.core.listNamespacedPod({ namespace, labelSelector }));
    return res.items;
  }

  /** GETs a ConfigMap. */
  getConfigMap(namespace: string, name: string): Promise<k8s.V1ConfigMap> {
    return call(`get configmap ${namespace}/${name}`, () => this.core.readNamespacedConfigMap({ namespace, name }));
  }

  /** Creates a ConfigMap. */
  createConfigMap(namespace: string, body: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    return call(`create configmap ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.createNamespacedConfigMap({ namespace, body }));
  }

  /** Replaces a ConfigMap. */
  replaceConfigMap(namespace: string, body: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    return call(`replace configmap ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.replaceNamespacedConfigMap({ namespace, name: body.metadata?.name ?? '', body }));
  }

  /** GETs a Lease. */
  getLease(namespace: string, name: string): Promise<k8s.V1Lease> {
    return call(`get lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ namespace, name }));
  }

  /** Creates a Lease. */
  createLease(namespace: string, body: k8s.V1Lease): Promise<k8s.V1Lease> {
    return call(`create lease ${namespace}/${body.metadata?.name ?? ''}`, () => this.coordination.createNamespacedLease({ namespace, body }));
  }

  /** Replaces a Lease (the resourceVersion in body makes it a compare-and-swap: 409 when someone else wrote first). */
  replaceLease(namespace: string, body: k8s.V1Lease): Promise<k8s.V1Lease> {
    return call(`replace lease ${namespace}/${body.metadata?.name ?? ''}`, () => this.coordination.replaceNamespacedLease({ namespace, name: body.metadata?.name ?? '', body }));
  }

  /** Creates a core/v1 Event. */
  createEvent(namespace: string, body: k8s.CoreV1Event): Promise<k8s.CoreV1Event> {
    return call(`create event ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.createNamespacedEvent({ namespace, body }));
  }

  /** GETs a Secret. */
  getSecret(namespace: string, name: string): Promise<k8s.V1Secret> {
    return call(`get secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
  }

  /** Creates a Secret. */
  createSecret(namespace: string, body: k8s.V1Secret): Promise<k8s.V1Secret> {
    return call(`create secret ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.createNamespacedSecret({ namespace, body }));
  }

  /** Replaces a Secret (compare-and-swap on the resourceVersion in body). */
  replaceSecret(namespace: string, body: k8s.V1Secret): Promise<k8s.V1Secret> {
    return call(`replace secret ${namespace}/${body.metadata?.name ?? ''}`, () => this.core.replaceNamespacedSecret({ namespace, name: body.metadata?.name ?? '', body }));
  }

  /** Creates a ConfigMap, Secret or ServiceAccount (objects `pipod run` creates with a run); 409 when it exists. */
  async createCoreObject(namespace: string, body: CoreObject): Promise<void> {
    const name = body.metadata.name;
    const op = `create ${body.kind.toLowerCase()} ${namespace}/${name}`;
    if (body.kind === 'ConfigMap') await call(op, () => this.core.createNamespacedConfigMap({ namespace, body: body as k8s.V1ConfigMap }));
    else if (body.kind === 'Secret') await call(op, () => this.core.createNamespacedSecret({ namespace, body: body as k8s.V1Secret }));
    else await call(op, () => this.core.createNamespacedServiceAccount({ namespace, body: body as k8s.V1ServiceAccount }));
  }

  /** Deletes a ConfigMap, Secret or ServiceAccount. */
  async deleteCoreObject(namespace: string, kind: CoreObject['kind'], name: string): Promise<void> {
    const op = `delete ${kind.toLowerCase()} ${namespace}/${name}`;
    if (kind === 'ConfigMap') await call(op, () => this.core.deleteNamespacedConfigMap({ namespace, name }));
    else if (kind === 'Secret') await call(op, () => this.core.deleteNamespacedSecret({ namespace, name }));
    else await call(op, () => this.core.deleteNamespacedServiceAccount({ namespace, name }));
  }

  /** GETs a MutatingWebhookConfiguration. */
  getMutatingWebhook(name: string): Promise<k8s.V1MutatingWebhookConfiguration> {
    return call(`get mutatingwebhookconfiguration ${name}`, () => this.admission.readMutatingWebhookConfiguration({ name }));
  }

  /** JSON-patches a MutatingWebhookConfiguration. */
  patchMutatingWebhook(name: string, ops: readonly unknown[]): Promise<k8s.V1MutatingWebhookConfiguration> {
    return call(`patch mutatingwebhookconfiguration ${name}`, () =>
      this.admission.patchMutatingWebhookConfiguration({ name, body: ops }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)));
  }

  /** Reads a container's whole log once. */
  async readLog(namespace: string, pod: string, container: string): Promise<string> {
    return call(`read log ${namespace}/${pod}/${container}`, () => this.core.readNamespacedPodLog({ namespace, name: pod, container }));
  }

  /**
   * Follows a container's log from its beginning, calling `onLine` for each
   * complete line; resolves when the stream ends (the container exited or the
   * connection dropped). The returned `abort` stops it early.
   */
  followLog(namespace: string, pod: string, container: string, onLine: (line: string) => void): { done: Promise<void>; abort: () => void } {
    let buf = '';
    let controller: AbortController | undefined;
    let aborted = false;
    let finish: (() => void) | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          buf += chunk.toString('utf8');
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            onLine(line);
          }
          cb();
        },
        final(cb) {
          if (buf.length > 0) onLine(buf);
          buf = '';
          cb();
          resolve();
        },
      });
      sink.on('error', reject);
      sink.on('close', () => resolve());
      // client-node pipes the response body into the sink; a dropped connection errors the body, which pipe() does not forward.
      sink.on('pipe', (src: NodeJS.ReadableStream) => {
        src.once('error', () => resolve());
        src.once('close', () => resolve());
      });
      finish = resolve;
      new k8s.Log(this.config)
        .log(namespace, pod, container, sink, { follow: true })
        .then((c) => {
          controller = c;
          if (aborted) c.abort();
        })
        .catch((e: unknown) => reject(new KubeApiError(httpStatus(e), `follow log ${namespace}/${pod}/${container}`, e instanceof Error ? e.message : String(e))));
    });
    return {
      done,
      abort: () => {
        aborted = true;
        controller?.abort();
        finish?.();
      },
    };
  }

  /** Runs a command in a container and resolves with its exit status (0 on success). */
  exec(namespace: string, pod: string, container: string, command: readonly string[]): Promise<{ status: string; message?: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      let stderr = '';
      const errSink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          stderr += chunk.toString('utf8');
          cb();
        },
      });
      const outSink = new Writable({ write(_c, _e, cb) { cb(); } });
      new k8s.Exec(this.config)
        .exec(namespace, pod, container, [...command], outSink, errSink, null, false, (st) => {
          resolve({ status: st.status ?? 'Unknown', ...(st.message ? { message: st.message } : {}), stderr });
        })
        .then((ws) => {
          ws.on('close', () => resolve({ status: 'Unknown', stderr }));
        })
        .catch((e: unknown) => reject(new KubeApiError(httpStatus(e), `exec in ${namespace}/${pod}/${container}`, e instanceof Error ? e.message : String(e))));
    });
  }

  /**
   * Watches a collection path (e.g. `/api/v1/pods`) and calls `onEvent` for
   * every change; resolves when the server closes the watch (callers re-list
   * and watch again).
   */
  watch(path: string, query: Record<string, string>, onEvent: (type: string, obj: KObject) => void): { done: Promise<void>; abort: () => void } {
    let controller: AbortController | undefined;
    let aborted = false;
    const done = new Promise<void>((resolve) => {
      new k8s.Watch(this.config)
        .watch(path, query, (type, obj: KObject) => onEvent(type, obj), () => resolve())
        .then((c) => {
          controller = c;
          if (aborted) c.abort();
        })
        .catch(() => resolve());
    });
    return {
      done,
      abort: () => {
        aborted = true;
        controller?.abort();
      },
    };
  }
}
