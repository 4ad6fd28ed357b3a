/**
 * The podman runtime's view of container deaths: `podman events` of the
 * run's pod, turned into the dead facts (`Layout.deadFile`) the supervisor
 * reads, so a step container that was OOM-killed, killed from outside or
 * crashed ends its step within a second or two instead of after the
 * heartbeat's stale window. Only this side writes facts; steps cannot.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContainerDeath, Layout } from '@pipod/plan';

/** The fields of one `podman events --format json` line this module reads. */
export interface PodmanEvent {
  readonly name: string;
  readonly status: string;
  readonly exitCode?: number;
  readonly time?: string;
}

/** One line of `podman events --format json`, or undefined when it is not a container event. */
export function parsePodmanEvent(line: string): PodmanEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Readonly<Record<string, unknown>>;
  if (o['Type'] !== 'container' || typeof o['Name'] !== 'string' || typeof o['Status'] !== 'string') return undefined;
  // podman leaves ContainerExitCode out when it is 0.
  const code = typeof o['ContainerExitCode'] === 'number' ? o['ContainerExitCode'] : o['Status'] === 'died' ? 0 : undefined;
  const t = typeof o['Time'] === 'string' ? Date.parse(o['Time']) : Number.NaN;
  return { name: o['Name'], status: o['Status'], ...(code !== undefined ? { exitCode: code } : {}), ...(Number.isNaN(t) ? {} : { time: new Date(t).toISOString() }) };
}

/** What else is known about a container when it died. */
export interface DeathContext {
  /** podman itself sent it a signal (`podman kill`, `podman stop`, a pod removal). */
  readonly killedByPodman: boolean;
  /** podman reported an `oom` event for it. */
  readonly oomEvent: boolean;
  /** Its pod spec sets `resources.limits.memory`. */
  readonly memoryLimited: boolean;
}

/**
 * The dead fact for a container that died with `exitCode`. podman 4.3 with
 * runc on a cgroup v1 host records no OOM kill (no `oom` event, `OOMKilled`
 * false), so a SIGKILL (137) that podman did not send, to a container with a
 * memory limit, is taken for the kernel's OOM killer; a `kill -9` from the
 * host to such a container reads the same.
 */
export function podmanDeath(container: string, exitCode: number, ctx: DeathContext, finishedAt?: string): ContainerDeath {
  const oom = ctx.oomEvent || (exitCode === 137 && !ctx.killedByPodman && ctx.memoryLimited);
  const reason = oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
  const message = oom ? undefined : ctx.killedByPodman ? 'killed through podman' : undefined;
  return { container, reason, exitCode, ...(message !== undefined ? { message } : {}), ...(finishedAt !== undefined ? { finishedAt } : {}) };
}

/** Writes a dead fact into the run volume on the host: temp name, then rename, as every message. */
export function writeDeath(layout: Layout, death: ContainerDeath): void {
  const file = layout.deadFile(death.container);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(death));
  renameSync(tmp, file);
}

/**
 * Folds the event stream of one pod into facts: remembers which containers
 * podman signalled or saw run out of memory, and on each `died` of a step or
 * sidecar container hands its fact to `report` (once per container).
 */
export class DeathWatch {
  private readonly killed = new Set<string>();
  private readonly oom = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly podName: string,
    /** The step and sidecar containers, by their name in the pod. */
    private readonly containers: ReadonlySet<string>,
    private readonly memoryLimited: ReadonlySet<string>,
    private readonly report: (death: ContainerDeath) => void,
  ) {}

  /** One line of `podman events --format json`. */
  line(text: string): void {
    const e = parsePodmanEvent(text);
    const prefix = `${this.podName}-`;
    if (e === undefined || !e.name.startsWith(prefix)) return;
    const c = e.name.slice(prefix.length);
    if (!this.containers.has(c)) return;
    if (e.status === 'kill') this.killed.add(c);
    else if (e.status === 'oom') this.oom.add(c);
    else if (e.status === 'died') this.died(c, e.exitCode ?? 0, e.time);
  }

  /**
   * A container podman lists as exited with a non-zero code: the backstop
   * for a `died` event the stream lost (seen under load), since a wrapper
   * exits 0 only once released.
   */
  exited(container: string, exitCode: number): void {
    if (exitCode !== 0 && this.containers.has(container)) this.died(container, exitCode);
  }

  private died(c: string, exitCode: number, time?: string): void {
    if (this.reported.has(c)) return;
    this.reported.add(c);
    this.report(podmanDeath(c, exitCode, { killedByPodman: this.killed.has(c), oomEvent: this.oom.has(c), memoryLimited: this.memoryLimited.has(c) }, time));
  }
}
