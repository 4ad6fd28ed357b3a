/** The engines `pipod run` can use, chosen by name. */
import { PipodError } from '@pipod/plan';
import { KubernetesRuntime, type KubernetesOptions } from './kubernetes.ts';
import { PodmanRuntime, type PodmanOptions } from './podman.ts';
import type { Runtime } from './types.ts';

export * from './types.ts';
export { KubernetesRuntime, podForCluster, type KubeCalls, type KubernetesOptions } from './kubernetes.ts';
export {
  PodmanRuntime, defaultRunRoot, cleanStderr, podmanCommands, staleRuntimeImageWarning, ENTRYPOINT_LABEL,
  type PodmanCommands, type PodmanFollower, type PodmanResult,
} from './podman.ts';
export { startRun, containerOwners, type RunDriver, type RunOptions, type StartOutcome, type Verdict } from './run.ts';
export { Escalation, FORCE_AFTER_MS, NO_CANCEL, nextCancel, type CancelEffect, type CancelInput, type CancelLevel, type CancelState, type CancelStep, type ForceReason } from './cancel.ts';
export { toPodmanPod, uniquePodName, parseImageMap, mapImage } from './podman-pod.ts';
export { SupervisorStream, parseEventLine, progressLine, summaryText, formatDuration, type SupervisorStreamSink } from './events.ts';
export { syntheticSummary, notRunReason } from './synthetic.ts';

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
