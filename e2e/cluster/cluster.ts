/** Access to the single-node test cluster that `e2e/cluster/up` runs on this machine. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Reads one `NAME="value"` setting from lib/common.sh so the scripts stay the single source. */
function setting(name: string): string {
  const out = execFileSync('bash', ['-c', `. "${join(here, 'lib/common.sh')}" && printf %s "$${name}"`], { encoding: 'utf8' });
  return out;
}

/** Where `up` writes the admin kubeconfig (overridable with PIPOD_CLUSTER_STATE). */
export const CLUSTER_KUBECONFIG = setting('KUBECONFIG_PATH');
/** The kubectl built with the cluster (same Kubernetes version). */
export const CLUSTER_KUBECTL = join(setting('K8S_BIN'), 'kubectl');
/** The test cluster's containerd socket (for `ctr`, as a node's admin would use it). */
export const CLUSTER_CONTAINERD_SOCK = setting('CONTAINERD_SOCK');
/** A static busybox image every test cluster has imported. */
export const CLUSTER_BUSYBOX_IMAGE = setting('BUSYBOX_IMAGE');

/** Result of one kubectl call; never throws. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the cluster's kubectl against the cluster, optionally feeding stdin. */
export function kubectl(args: readonly string[], input?: string): KubectlResult {
  const r = spawnSync(CLUSTER_KUBECTL, ['--kubeconfig', CLUSTER_KUBECONFIG, ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** Why the cluster cannot be used, or undefined when its API server answers ready. */
export function clusterUnavailable(): string | undefined {
  if (!existsSync(CLUSTER_KUBECTL)) return `no kubectl at ${CLUSTER_KUBECTL}; run e2e/cluster/up`;
  if (!existsSync(CLUSTER_KUBECONFIG)) return `no kubeconfig at ${CLUSTER_KUBECONFIG}; run e2e/cluster/up`;
  const r = kubectl(['get', '--raw', '/readyz']);
  if (r.code !== 0) return `the test cluster's API server is not ready (${r.stderr.trim()}); run e2e/cluster/up`;
  return undefined;
}

/** Why Tekton cannot be used, or undefined when `e2e/cluster/tekton-install` has installed it. */
export function tektonUnavailable(): string | undefined {
  const down = clusterUnavailable();
  if (down !== undefined) return down;
  const r = kubectl(['get', 'crd', 'pipelineruns.tekton.dev']);
  if (r.code !== 0) return 'Tekton is not installed in the test cluster; run e2e/cluster/tekton-install';
  return undefined;
}

/** Polls `kubectl get -o json` until `done` returns a value or the deadline passes. */
export async function waitForObject<T>(
  args: readonly string[],
  done: (obj: Record<string, unknown>) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = kubectl([...args, '-o', 'json']);
    if (r.code === 0) {
      last = r.stdout;
      const value = done(JSON.parse(r.stdout) as Record<string, unknown>);
      if (value !== undefined) return value;
    } else {
      last = r.stderr;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting on kubectl ${args.join(' ')}; last: ${last.slice(0, 2000)}`);
}
