/**
 * A step or sidecar container that ended or cannot start, from the pod's
 * container statuses, as the dead fact (`Layout.deadFile`) the supervisor
 * reads: the controller and `pipod run --runtime kubernetes` write it into
 * the pod by exec, so the supervisor ends that step with the kubelet's
 * reason instead of waiting for its heartbeat to go stale. Pure apart from
 * the exec command it builds.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { Layout, SUPERVISOR_CONTAINER, type ContainerDeath } from '@pipod/plan';

/** Waiting reasons after which the kubelet will not start the container without a change to the pod. */
const NEVER_STARTS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'InvalidImageName', 'ErrImageNeverPull']);
/** Terminated reasons the runtime gives a container whose process could not be started. */
const START_ERRORS = new Set(['StartError', 'ContainerCannotRun']);

/** The dead fact for one container status, or undefined while it runs, waits for something that may come, or never ran. */
export function containerDeath(s: V1ContainerStatus): ContainerDeath | undefined {
  const term = s.state?.terminated;
  if (term !== undefined) {
    const finishedAt = term.finishedAt !== undefined ? { finishedAt: new Date(term.finishedAt).toISOString() } : {};
    const message = term.message !== undefined && term.message !== '' ? { message: term.message } : {};
    if (term.reason === 'OOMKilled') return { container: s.name, reason: 'OOMKilled', exitCode: term.exitCode, ...finishedAt };
    if (term.reason !== undefined && START_ERRORS.has(term.reason)) return { container: s.name, reason: 'StartFailed', exitCode: term.exitCode, ...message, ...finishedAt };
    return { container: s.name, reason: term.exitCode === 0 ? 'Completed' : 'Error', exitCode: term.exitCode, ...message, ...finishedAt };
  }
  const wait = s.state?.waiting;
  if (wait?.reason !== undefined && NEVER_STARTS.has(wait.reason)) {
    return { container: s.name, reason: 'StartFailed', exitCode: 127, message: `${wait.reason}${wait.message ? `: ${wait.message}` : ''}` };
  }
  return undefined;
}

/**
 * The deaths of a pod's step and sidecar containers not yet in `reported`.
 * A container that exited 0 was released by the supervisor (wrappers exit 0
 * only then) and is never waited for again: not worth an exec.
 */
export function newDeaths(pod: V1Pod, reported: ReadonlySet<string>): ContainerDeath[] {
  const out: ContainerDeath[] = [];
  for (const s of pod.status?.containerStatuses ?? []) {
    if (s.name === SUPERVISOR_CONTAINER || reported.has(s.name)) continue;
    const d = containerDeath(s);
    if (d !== undefined && !(d.reason === 'Completed' && d.exitCode === 0)) out.push(d);
  }
  return out;
}

/** The exec command (in the supervisor container, with the pod's own Node) that writes a dead fact by write-then-rename. */
export function deathExecCommand(death: ContainerDeath, layout: Layout = new Layout()): string[] {
  const file = layout.deadFile(death.container);
  const script = `const fs=require('fs');const p=${JSON.stringify(file)};fs.mkdirSync(require('path').dirname(p),{recursive:true});fs.writeFileSync(p+'.tmp',${JSON.stringify(JSON.stringify(death))});fs.renameSync(p+'.tmp',p)`;
  return [layout.loader, '--library-path', layout.libDir, layout.node, '-e', script];
}
