/** The engines `pipod run` can use, chosen by name. */
import { PipodError } from '@pipod/plan';
import { KubernetesRuntime, type KubernetesOptions } from './kubernetes.ts';
import { PodmanRuntime, type PodmanOptions } from './podman.ts';
import type { Runtime } from './types.ts';

export * from './types.ts';
export { KubernetesRuntime, podForCluster, type KubernetesOptions } from './kubernetes.ts';
export { PodmanRuntime, defaultRunRoot, containerOwners, cleanStderr, staleRuntimeImageWarning, ENTRYPOINT_LABEL } from './podman.ts';
export { toPodmanPod, uniquePodName, parseImageMap, mapImage } from './podman-pod.ts';
export { parseEventLine, progressLine, summaryText, formatDuration, syntheticSummary } from './events.ts';

/** Names accepted by `--runtime`. */
export const RUNTIMES = ['podman', 'kubernetes'] as const;

/** Settings of every runtime, by runtime name. */
export interface RuntimeSettings {
  readonly podman?: PodmanOptions;
  readonly kubernetes?: KubernetesOptions;
}

/** Creates the named runtime. */
export function createRuntime(name: string, settings: RuntimeSettings = {}): Runtime {
  if (name === 'podman') return new PodmanRuntime(settings.podman);
  if (name === 'kubernetes') return new KubernetesRuntime(settings.kubernetes);
  throw new PipodError('USAGE', `unknown runtime ${JSON.stringify(name)}: use ${RUNTIMES.join(' or ')}`);
}
