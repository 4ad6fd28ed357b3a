/**
 * Helpers of the controller e2e suite on the real test cluster
 * (e2e/cluster/up): finding it, running `pipod controller` as a real
 * process, applying Tekton YAML, and waiting for conditions.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type KObject, Kube, RESOURCES, type Resource, isStatus, orNotFound } from '@pipod/controller';
import { ROOT, ensureImages } from '../helpers.ts';

/** The test cluster's kubeconfig: $PIPOD_KUBECONFIG, else the one e2e/cluster/up writes. */
export const KUBECONFIG = process.env['PIPOD_KUBECONFIG'] ?? '/var/lib/pipod-cluster/kubeconfig';

/** Why the cluster cannot be used, or undefined when it answers and has Tekton's CRDs. */
export async function clusterProblem(): Promise<string | undefined> {
  if (!existsSync(KUBECONFIG)) return `no kubeconfig at ${KUBECONFIG} (start the test cluster with e2e/cluster/up --tekton)`;
  try {
    const kube = Kube.load(KUBECONFIG);
    await withTimeout(kube.core.listNamespace({ limit: 1 }), 5000);
    try {
      await withTimeout(kube.listCustom(RESOURCES.pipelineRuns, 'default'), 5000);
    } catch (e) {
      if (isStatus(e, 404)) return 'the cluster has no Tekton CRDs (run e2e/cluster/up --tekton)';
      throw e;
    }
    return undefined;
  } catch (e) {
    return `the test cluster does not answer: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** True when Tekton's own controller runs on the cluster (needed for Tekton-run parents). */
export async function tektonControllerRunning(kube: Kube): Promise<boolean> {
  try {
    const pods = await kube.listPods('tekton-pipelines', 'app.kubernetes.io/name=controller');
    return pods.some((p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready));
  } catch {
    return false;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))]);
}

/** Sleeps. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

/** The Succeeded condition of an object, if any. */
export function succeeded(o: KObject | undefined): { status?: string; reason?: string; message?: string } | undefined {
  const cs = (o?.status as { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] } | undefined)?.conditions;
  return cs?.find((c) => c.type === 'Succeeded');
}

/** Waits until a run's Succeeded condition is True or False and returns the object. */
export function waitDone(kube: Kube, r: Resource, ns: string, name: string, timeoutMs = 180_000): Promise<KObject> {
  return waitFor(`${r.plural} ${ns}/${name} to finish`, async () => {
    const o = await kube.getCustom(r, ns, name);
    const c = succeeded(o);
    return c && c.status !== 'Unknown' ? o : undefined;
  }, timeoutMs);
}

/** Reads a fixture's documents. */
export function fixture(name: string): Record<string, unknown>[] {
  const text = readFileSync(join(ROOT, 'e2e', 'controller', 'fixtures', name), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJSON() as Record<string, unknown>).filter((d) => d !== null);
}

const plural: Record<string, Resource> = { Task: RESOURCES.tasks, Pipeline: RESOURCES.pipelines, PipelineRun: RESOURCES.pipelineRuns };

/** Creates Tasks and Pipelines in the namespace (replacing nothing: a 409 means it is already there). */
export async function applyDefinitions(kube: Kube, ns: string, docs: readonly Record<string, unknown>[]): Promise<void> {
  for (const d of docs) {
    const kind = d['kind'] as string;
    if (kind !== 'Task' && kind !== 'Pipeline') continue;
    const r = plural[kind] as Resource;
    const meta = { ...(d['metadata'] as Record<string, unknown>), namespace: ns };
    try {
      await kube.createCustom(r, ns, { ...d, metadata: meta } as KObject);
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
    }
  }
}

/** Creates a namespace (ignoring 409). */
export async function createNamespace(kube: Kube, name: string): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name, labels: { 'pipod.dev/e2e': 'controller' } } } });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
}

/** Deletes a namespace (best effort). */
export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

/** Sets the feature flag in the controller's namespace. */
export async function setFlag(kube: Kube, ns: string, on: boolean): Promise<void> {
  const body = { metadata: { name: 'pipod-feature-flags', namespace: ns }, data: { 'enable-pipeline-in-pod': on ? 'true' : 'false' } };
  const cur = await orNotFound(kube.getConfigMap(ns, 'pipod-feature-flags'));
  if (cur) await kube.replaceConfigMap(ns, { ...cur, data: body.data });
  else await kube.createConfigMap(ns, body);
}

/** A `pipod controller` process. */
export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly metricsPort: number;
  readonly logFile: string;
  metrics(): Promise<string>;
  /** SIGKILL: the hard way a controller dies mid-run. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

let port = 19_090 + Math.floor(Math.random() * 500);

/** Builds the CLI bundle once. */
export function buildCli(): void {
  execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

/** Starts `pipod controller` against the test cluster, logging JSON lines to a file. */
export function startController(controllerNs: string, watchNs: string, logName: string): ControllerProcess {
  const metricsPort = port++;
  const logDir = join(ROOT, 'e2e', 'controller', '.logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${logName}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [join(ROOT, 'packages/cli/dist/pipod.mjs'), 'controller', '--kubeconfig', KUBECONFIG, '--namespace', controllerNs, '--watch-namespace', watchNs, '--metrics-port', String(metricsPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child, metricsPort, logFile,
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return res.text();
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The value of one metric sample in Prometheus text, if present. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

/** Imports the runtime and test images into the cluster node (idempotent). */
export function importImages(): void {
  execFileSync('bash', [join(ROOT, 'e2e', 'cluster', 'import-images')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * The common start of a controller suite: images on the node, the CLI built,
 * both namespaces, the flag on, the definitions applied, and a controller
 * process that holds the lease.
 */
export async function setUpController(o: { readonly controllerNs: string; readonly ns: string; readonly logName: string; readonly docs: readonly Record<string, unknown>[] }): Promise<{ kube: Kube; ctl: ControllerProcess }> {
  ensureImages();
  importImages();
  buildCli();
  const kube = Kube.load(KUBECONFIG);
  await createNamespace(kube, o.controllerNs);
  await createNamespace(kube, o.ns);
  // Pods need a ServiceAccount; wait for the controller-manager to create `default`.
  await waitFor('default service account', async () => (await kube.core.readNamespacedServiceAccount({ namespace: o.ns, name: 'default' }).catch(() => undefined)) ? true : undefined, 60_000);
  await setFlag(kube, o.controllerNs, true);
  await applyDefinitions(kube, o.ns, o.docs);
  const ctl = startController(o.controllerNs, o.ns, o.logName);
  await waitFor('controller leadership', async () => metricValue(await ctl.metrics(), 'pipod_leader') === 1 ? true : undefined, 60_000);
  return { kube, ctl };
}
