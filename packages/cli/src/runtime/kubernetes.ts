/**
 * The kubernetes runtime of `pipod run`: creates the generated Pod on a
 * cluster (current kubeconfig), follows the supervisor's event stream from
 * the pod log, cancels by writing the cancel file through exec, and deletes
 * the pod afterwards. Every cluster call goes through @pipod/controller's Kube.
 */
import { randomBytes } from 'node:crypto';
import { type ExecutionPlan, PipodError, type RunEvent, type RunSummary, SUPERVISOR_CONTAINER, dnsLabel } from '@pipod/plan';
import { Kube, cancelExecCommand, isStatus, orNotFound, parseEventLine, startFailure, startPending } from '@pipod/controller';
import type { V1Pod } from '@kubernetes/client-node';
import { startWatchdog, syntheticSummary } from './events.ts';
import { containerOwners } from './podman.ts';
import { type ImageMap, mapImage } from './podman-pod.ts';
import type { CancelMode, KubeContainer, KubePod, RunHandle, RunObserver, RunRequest, Runtime } from './types.ts';

/** Settings of the kubernetes runtime. */
export interface KubernetesOptions {
  /** kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  /** Namespace for the pod (default: the pod's, else the context's). */
  readonly namespace?: string;
  readonly imageMap?: ImageMap;
  /** How long an immediate cancel may take before the pod is deleted by force. */
  readonly forceAfterMs?: number;
  /** How long the pod may take to start its supervisor (image pulls included). */
  readonly startTimeoutMs?: number;
  /** An already loaded client (tests). */
  readonly kube?: Kube;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True once the supervisor container has started (running or already ended), so its log can be read. */
function supervisorStarted(pod: V1Pod): boolean {
  const s = pod.status?.containerStatuses?.find((c) => c.name === SUPERVISOR_CONTAINER);
  return Boolean(s?.state?.running ?? s?.state?.terminated);
}

/**
 * The pod as created: this run's name and namespace, images rewritten by the
 * image map, and `localhost/` images (imported into the node, never pullable)
 * set to IfNotPresent unless the pod says otherwise.
 */
export function podForCluster(pod: KubePod, name: string, namespace: string, imageMap: ImageMap): KubePod {
  const fix = (c: KubeContainer): KubeContainer => {
    const image = mapImage(c.image, imageMap);
    return { ...c, image, ...(c.imagePullPolicy === undefined && image.startsWith('localhost/') ? { imagePullPolicy: 'IfNotPresent' } : {}) };
  };
  return {
    ...pod,
    metadata: { ...pod.metadata, name, namespace, labels: { ...(pod.metadata.labels ?? {}), 'pipod.dev/run-by': 'pipod-run' } },
    spec: { ...pod.spec, ...(pod.spec.initContainers ? { initContainers: pod.spec.initContainers.map(fix) } : {}), containers: pod.spec.containers.map(fix) },
  };
}

/** Runs pipod pods on a Kubernetes cluster. */
export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  private readonly kube: Kube;

  constructor(private readonly opts: KubernetesOptions = {}) {
    try {
      this.kube = opts.kube ?? Kube.load(opts.kubeconfig);
    } catch (e) {
      throw new PipodError('KUBECONFIG', `cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  start(req: RunRequest, obs: RunObserver): RunHandle {
    const podName = dnsLabel([(req.pod.metadata.name ?? 'pipod').slice(0, 48), randomBytes(3).toString('hex')]);
    const namespace = this.opts.namespace ?? req.pod.metadata.namespace ?? this.kube.currentNamespace();
    const note = (m: string): void => obs.onNote?.(m);
    let cancelState: 'none' | CancelMode | 'force' = 'none';
    const cancelled = (): 'none' | CancelMode | 'force' => cancelState;
    let podCreated = false;
    let running = false;
    let forceTimer: NodeJS.Timeout | undefined;
    let forced: ((reason: string) => void) | undefined;
    const forcedP = new Promise<string>((resolve) => { forced = resolve; });
    const aborts: (() => void)[] = [];

    const writeCancel = async (mode: CancelMode): Promise<void> => {
      if (!running) return;
      try {
        const r = await this.kube.exec(namespace, podName, SUPERVISOR_CONTAINER, cancelExecCommand(mode));
        if (r.status !== 'Success') note(`cancel could not be written into the pod (${r.status}${r.message ? `: ${r.message}` : ''})`);
      } catch (e) {
        note(`cancel could not be written into the pod: ${e instanceof Error ? e.message : String(e)}`);
      }
    };

    const forceRemove = async (reason: string): Promise<void> => {
      forced?.(reason);
      if (podCreated) await this.kube.deletePod(namespace, podName, 0).catch(() => undefined);
    };

    const cancel = async (mode: CancelMode): Promise<void> => {
      const next = cancelState === 'none' ? mode : cancelState === 'graceful' && mode === 'graceful' ? 'immediate' : cancelState === 'graceful' ? mode : 'force';
      cancelState = next;
      if (next === 'force') {
        note('deleting the pod by force');
        await forceRemove('Cancelled');
        return;
      }
      note(next === 'graceful' ? 'cancelling (finally tasks still run); Ctrl-C again to stop at once' : 'cancelling immediately; Ctrl-C again to delete the pod by force');
      await writeCancel(next);
      if (next === 'immediate' && forceTimer === undefined) {
        forceTimer = setTimeout(() => { void forceRemove('Cancelled'); }, this.opts.forceAfterMs ?? 30_000);
        forceTimer.unref();
      }
    };

    const cleanup = async (): Promise<void> => {
      if (forceTimer !== undefined) clearTimeout(forceTimer);
      for (const a of aborts) a();
      if (podCreated && !req.keep) {
        try {
          await this.kube.deletePod(namespace, podName, 5);
        } catch (e) {
          if (!isStatus(e, 404)) note(`could not delete pod ${namespace}/${podName}: ${e instanceof Error ? e.message : String(e)}`);
        }
      } else if (podCreated) {
        note(`kept pod ${namespace}/${podName}`);
      }
    };

    const waitForStart = async (): Promise<'started' | 'cancelled' | 'timedout'> => {
      const deadline = Date.now() + (this.opts.startTimeoutMs ?? 300_000);
      // The pipeline timeout counts from the run's start, waiting included, as Tekton counts it.
      const budgetMs = req.plan.timeouts.pipelineMs;
      // From the start the supervisor counts from too (the plan's, set when the pod was built), else from now.
      const runStart = Date.parse(req.plan.run.startTime ?? '');
      const runDeadline = budgetMs !== undefined && budgetMs > 0 ? (Number.isNaN(runStart) ? Date.now() : Math.min(runStart, Date.now())) + budgetMs : undefined;
      let said: string | undefined;
      for (;;) {
        if (cancelled() === 'immediate' || cancelled() === 'force') return 'cancelled';
        const pod = await orNotFound(this.kube.getPod(namespace, podName));
        if (!pod) throw new PipodError('START', `pod ${namespace}/${podName} disappeared before it started`);
        const why = startFailure(pod);
        if (why) throw new PipodError('START', `pod ${namespace}/${podName} could not start: ${why}`);
        if (supervisorStarted(pod)) return 'started';
        const waiting = startPending(pod);
        if (waiting !== undefined && waiting.message !== said) note(`pod ${namespace}/${podName} ${waiting.message}`);
        said = waiting?.message ?? said;
        // Nothing has run and nothing can until a node fits: a graceful cancel has no finally to wait for.
        if (cancelled() === 'graceful' && waiting?.unschedulable) return 'cancelled';
        if (runDeadline !== undefined && Date.now() > runDeadline) return 'timedout';
        if (Date.now() > deadline) throw new PipodError('START', `pod ${namespace}/${podName} did not start within ${Math.round((this.opts.startTimeoutMs ?? 300_000) / 1000)}s (phase ${pod.status?.phase ?? 'unknown'}${waiting !== undefined ? `, ${waiting.message}` : ''})`);
        await sleep(500);
      }
    };

    const run = async (): Promise<RunSummary> => {
      const startedAt = new Date();
      const body = podForCluster(req.pod, podName, namespace, this.opts.imageMap ?? {});
      if (cancelled() !== 'none') return syntheticSummary('Cancelled', 'Cancelled before the pod started', startedAt, new Date(), req.plan);
      try {
        await this.kube.createPod(namespace, body as unknown as V1Pod);
      } catch (e) {
        throw new PipodError('START', `could not create pod ${namespace}/${podName}: ${e instanceof Error ? e.message : String(e)}`);
      }
      podCreated = true;
      note(`pod ${namespace}/${podName} created`);
      const start = await waitForStart();
      if (start === 'cancelled') {
        await forceRemove('Cancelled');
        return syntheticSummary('Cancelled', 'Cancelled before the pod started', startedAt, new Date(), req.plan);
      }
      if (start === 'timedout') {
        note(`pod ${namespace}/${podName} did not start within the pipeline timeout (${(req.plan.timeouts.pipelineMs ?? 0) / 1000}s)`);
        await forceRemove('TimedOut');
        return syntheticSummary('TimedOut', 'PipelineRunTimeout', startedAt, new Date(), req.plan);
      }
      running = true;
      note(`pod ${namespace}/${podName} started`);
      const pending = cancelled();
      if (pending === 'graceful' || pending === 'immediate') await writeCancel(pending);
      if (req.logs) this.followStepLogs(namespace, podName, req.plan, obs, aborts);

      let summary: RunSummary | undefined;
      let seen = 0;
      const follow = (async (): Promise<void> => {
        // A dropped connection replays the log from its start: skip the events already delivered.
        for (let tries = 0; tries < 30 && summary === undefined; tries++) {
          let n = 0;
          const f = this.kube.followLog(namespace, podName, SUPERVISOR_CONTAINER, (line) => {
            const e: RunEvent | undefined = parseEventLine(line);
            if (!e) return;
            n++;
            if (n <= seen) return;
            seen = n;
            if (e.type === 'run.finished') summary = e.summary;
            obs.onEvent?.(e);
          });
          aborts.push(f.abort);
          await f.done.catch(() => undefined);
          if (summary !== undefined) return;
          const pod = await orNotFound(this.kube.getPod(namespace, podName));
          const ended = !pod || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
            || pod.status?.containerStatuses?.find((c) => c.name === SUPERVISOR_CONTAINER)?.state?.terminated !== undefined;
          if (ended) return;
          await sleep(1000);
        }
      })();

      const watchdog = startWatchdog(req.watchdogMs, () => {
        note('the run exceeded its time budget; cancelling immediately');
        void cancel('immediate');
      });
      const forcedReason = await Promise.race([follow.then(() => undefined), forcedP]);
      watchdog.stop();
      if (summary !== undefined) return summary;
      if (forcedReason !== undefined) {
        return syntheticSummary(watchdog.fired ? 'TimedOut' : 'Cancelled', watchdog.fired ? 'the run did not stop within its time budget; the pod was deleted' : 'the pod was deleted by force', startedAt, new Date(), req.plan);
      }
      const pod = await orNotFound(this.kube.getPod(namespace, podName));
      const why = !pod ? 'the pod was deleted' : pod.status?.reason === 'DeadlineExceeded' ? 'the pod exceeded its activeDeadlineSeconds'
        : `the supervisor ended without a summary (pod ${pod.status?.phase ?? 'unknown'}${pod.status?.reason ? `, ${pod.status.reason}` : ''})`;
      return syntheticSummary(pod?.status?.reason === 'DeadlineExceeded' ? 'TimedOut' : 'Failed', why, startedAt, new Date(), req.plan);
    };

    const result = (async () => {
      try {
        return await run();
      } finally {
        await cleanup();
      }
    })();
    return { podName, result, cancel };
  }

  /** Streams every step and sidecar container's output, attributed to task/step through the plan. */
  private followStepLogs(namespace: string, podName: string, plan: ExecutionPlan, obs: RunObserver, aborts: (() => void)[]): void {
    for (const [container, owner] of containerOwners(plan)) {
      const f = this.kube.followLog(namespace, podName, container, (text) => {
        obs.onLog?.({ container, ...(owner.task !== undefined ? { task: owner.task } : {}), step: owner.step, stream: 'stdout', text });
      });
      aborts.push(f.abort);
      f.done.catch(() => undefined);
    }
  }
}
