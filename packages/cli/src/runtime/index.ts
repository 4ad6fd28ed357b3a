/** The engines `pipod run` can use, chosen by name. */
import { PipodError } from '@pipod/plan';
import { PodmanRuntime, type PodmanOptions } from './podman.ts';
import type { Runtime } from './types.ts';

export * from './types.ts';
export { PodmanRuntime, defaultRunRoot, containerOwners, cleanStderr } from './podman.ts';
export { toPodmanPod, uniquePodName, parseImageMap, mapImage } from './podman-pod.ts';
export { parseEventLine, progressLine, summaryText, formatDuration, syntheticSummary } from './events.ts';

/** Names accepted by `--runtime`. */
export const RUNTIMES = ['podman', 'kubernetes'] as const;

/** Creates the named runtime; kubernetes is not wired into `pipod run` yet. */
export function createRuntime(name: (typeof RUNTIMES)[number], podman: PodmanOptions = {}): Runtime {
  if (name === 'podman') return new PodmanRuntime(podman);
  throw new PipodError('UNSUPPORTED', 'the kubernetes runtime is not yet available for `pipod run`; use --runtime podman');
}
