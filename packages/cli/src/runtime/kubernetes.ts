/**
 * The kubernetes runtime of `pipod run`: creates the generated Pod on a
 * cluster (current kubeconfig), follows the supervisor's event stream from
 * the pod log, cancels by writing the cancel file through exec, and deletes
 * the pod afterwards. Every cluster call goes through @pipod/controller's Kube.
 */
import { randomBytes } from 'node:crypto';
import { type CancelMode, PipodError, type RunSummary, SUPERVISOR_CONTAINER, dnsLabel } from '@pipod/plan';
import { type CoreObject, Kube, cancelExecCommand, deathExecCommand, isStatus, newDeaths, orNotFound, startFailure, startPending } from '@pipod/controller';
import type { V1Pod } from '@kubernetes/client-node';
import type { CancelLevel } from './cancel.ts';
import type { SupervisorStream } from './events.ts';
import { type ImageMap, mapImage } from './podman-pod.ts';
import { containerOwners, startRun, type RunDriver, type StartOutcome, type Verdict } from './run.ts';
import type { KubeContainer, KubePod, LogLine, RunHandle, RunObserver, RunRequest, Runtime } from './types.ts';

/** Settings of the kubernetes runtime. */
export interface KubernetesOptions {
  /** kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  /** Namespace for the pod (default: the pod's, else the context's). */
  readonly namespace?: string;
  readonly imageMap?: ImageMap;
  /** How long an immediate cancel may take before the pod is deleted by force (default `FORCE_AFTER_MS`, 30 s). */
  readonly forceAfterMs?: number;
  /** How long the pod may take to start its supervisor (image pulls included). */
  readonly startTimeoutMs?: number;
  /** An already loaded client (tests may pass a fake with just the calls a run makes). */
  readonly kube?: KubeCalls;
}

/** The cluster calls a run makes. */
export type KubeCalls = Pick<Kube, 'currentNamespace' | 'getPod' | 'createPod' | 'deletePod' | 'exec' | 'followLog' | 'createCoreObject' | 'deleteCoreObject'>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How often a running pod's container statuses are read for deaths. */
const DEATH_POLL_MS = 1000;

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
  private readonly kube: KubeCalls;

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
    const driver = new KubernetesDriver(this.kube, namespace, podName, req, this.opts, (m) => obs.onNote?.(m));
    return startRun(driver, req, obs, this.opts.forceAfterMs !== undefined ? { forceAfterMs: this.opts.forceAfterMs } : {});
  }
}

/**
 * One run on a cluster: the pod is created through the API and polled until
 * its supervisor runs, the supervisor's log is followed (reconnecting when
 * the connection drops), the cancel file is written by exec in the pod.
 */
class KubernetesDriver implements RunDriver {
  readonly removal = 'delete' as const;
  readonly podRef: string;
  private created = false;
  /** The input's ConfigMaps, Secrets and ServiceAccounts this run created (deleted with the run). */
  private readonly objects: CoreObject[] = [];
  private readonly aborts: (() => void)[] = [];

  constructor(
    private readonly kube: KubeCalls,
    private readonly namespace: string,
    readonly podName: string,
    private readonly req: RunRequest,
    private readonly opts: KubernetesOptions,
    private readonly note: (m: string) => void,
  ) {
    this.podRef = `${namespace}/${podName}`;
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  async create(): Promise<void> {
    // The input's objects come first, so the pod finds them at once; they live as long as the run.
    for (const o of this.req.objects ?? []) {
      const body: CoreObject = { ...o, metadata: { ...o.metadata, namespace: this.namespace, labels: { ...(o.metadata.labels ?? {}), 'pipod.dev/run': this.podName } } };
      try {
        await this.kube.createCoreObject(this.namespace, body);
      } catch (e) {
        if (isStatus(e, 409)) {
          throw new PipodError('EXISTS', `${o.kind} ${this.namespace}/${o.metadata.name} already exists: pipod run creates the ${o.kind}s of its input with the run and deletes them after it, so it will not take over one it did not create (delete it, or drop it from the files to use the one in the cluster)`);
        }
        throw new PipodError('START', `could not create ${o.kind} ${this.namespace}/${o.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.objects.push(body);
      this.note(`${o.kind.toLowerCase()} ${this.namespace}/${o.metadata.name} created`);
    }
    const body = podForCluster(this.req.pod, this.podName, this.namespace, this.opts.imageMap ?? {});
    try {
      await this.kube.createPod(this.namespace, body as unknown as V1Pod);
    } catch (e) {
      throw new PipodError('START', `could not create pod ${this.podRef}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.created = true;
    this.note(`pod ${this.podRef} created`);
  }

  async waitStarted(cancel: () => CancelLevel): Promise<StartOutcome> {
    const startTimeoutMs = this.opts.startTimeoutMs ?? 300_000;
    const deadline = Date.now() + startTimeoutMs;
    // The pipeline timeout counts from the run's start, waiting included, as Tekton counts it.
    const budgetMs = this.req.plan.timeouts.pipelineMs;
    // From the start the supervisor counts from too (the plan's, set when the pod was built), else from now.
    const runStart = Date.parse(this.req.plan.run.startTime ?? '');
    const runDeadline = budgetMs !== undefined && budgetMs > 0 ? (Number.isNaN(runStart) ? Date.now() : Math.min(runStart, Date.now())) + budgetMs : undefined;
    let said: string | undefined;
    for (;;) {
      if (cancel() === 'immediate' || cancel() === 'force') return 'cancelled';
      const pod = await orNotFound(this.kube.getPod(this.namespace, this.podName));
      if (!pod) throw new PipodError('START', `pod ${this.podRef} disappeared before it started`);
      const why = startFailure(pod);
      if (why) throw new PipodError('START', `pod ${this.podRef} could not start: ${why}`);
      if (supervisorStarted(pod)) return 'started';
      const waiting = startPending(pod);
      if (waiting !== undefined && waiting.message !== said) this.note(`pod ${this.podRef} ${waiting.message}`);
      said = waiting?.message ?? said;
      // Nothing has run and nothing can until a node fits: a stop or graceful cancel has no finally to wait for.
      if (cancel() !== 'none' && waiting?.unschedulable) return 'cancelled';
      if (runDeadline !== undefined && Date.now() > runDeadline) {
        this.note(`pod ${this.podRef} did not start within the pipeline timeout (${(budgetMs ?? 0) / 1000}s)`);
        return 'timedout';
      }
      if (Date.now() > deadline) throw new PipodError('START', `pod ${this.podRef} did not start within ${Math.round(startTimeoutMs / 1000)}s (phase ${pod.status?.phase ?? 'unknown'}${waiting !== undefined ? `, ${waiting.message}` : ''})`);
      await sleep(500);
    }
  }

  async deliverCancel(mode: CancelMode): Promise<void> {
    try {
      const r = await this.kube.exec(this.namespace, this.podName, SUPERVISOR_CONTAINER, cancelExecCommand(mode));
      if (r.status !== 'Success') this.note(`cancel could not be written into the pod (${r.status}${r.message ? `: ${r.message}` : ''})`);
    } catch (e) {
      this.note(`cancel could not be written into the pod: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async followSupervisor(stream: SupervisorStream): Promise<void> {
    const stopDeaths = this.watchDeaths();
    try {
      await this.followLog(stream);
    } finally {
      stopDeaths();
    }
  }

  /**
   * Looks at the pod's container statuses every second while the run goes
   * on and writes each step or sidecar container's death into the pod (exec,
   * as a cancel), so the supervisor ends that step at once with the
   * kubelet's reason (`OOMKilled`, the exit code, `StartFailed`).
   */
  private watchDeaths(): () => void {
    let stopped = false;
    const reported = new Set<string>();
    const tick = (): Promise<void> => new Promise((r) => { setTimeout(r, DEATH_POLL_MS).unref(); });
    void (async () => {
      while (!stopped) {
        await tick();
        if (stopped) return;
        const pod = await orNotFound(this.kube.getPod(this.namespace, this.podName)).catch(() => undefined);
        if (pod?.status?.phase !== 'Running') continue;
        for (const d of newDeaths(pod, reported)) {
          if (stopped) return;
          const r = await this.kube.exec(this.namespace, this.podName, SUPERVISOR_CONTAINER, deathExecCommand(d)).catch(() => undefined);
          if (r?.status === 'Success') reported.add(d.container);
        }
      }
    })();
    return () => { stopped = true; };
  }

  private async followLog(stream: SupervisorStream): Promise<void> {
    for (let tries = 0; tries < 30 && stream.summary === undefined; tries++) {
      // A dropped connection replays the log from its start: the stream skips what it already delivered.
      if (tries > 0) stream.replay();
      const f = this.kube.followLog(this.namespace, this.podName, SUPERVISOR_CONTAINER, (line) => stream.line(line));
      this.aborts.push(f.abort);
      await f.done.catch(() => undefined);
      if (stream.summary !== undefined) return;
      const pod = await orNotFound(this.kube.getPod(this.namespace, this.podName));
      const ended = !pod || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
        || pod.status?.containerStatuses?.find((c) => c.name === SUPERVISOR_CONTAINER)?.state?.terminated !== undefined;
      if (ended) return;
      await sleep(1000);
    }
  }

  followSteps(onLog: (line: LogLine) => void): Promise<void> {
    const done: Promise<void>[] = [];
    for (const [container, owner] of containerOwners(this.req.plan)) {
      const f = this.kube.followLog(this.namespace, this.podName, container, (text) => {
        onLog({ container, ...(owner.task !== undefined ? { task: owner.task } : {}), step: owner.step, stream: 'stdout', text });
      });
      this.aborts.push(f.abort);
      done.push(f.done.catch(() => undefined));
    }
    return Promise.all(done).then(() => undefined);
  }

  /** The run volume is inside the pod: nothing to read from here. */
  savedSummary(): RunSummary | undefined {
    return undefined;
  }

  async noSummary(): Promise<Verdict> {
    const pod = await orNotFound(this.kube.getPod(this.namespace, this.podName));
    const deadline = pod?.status?.reason === 'DeadlineExceeded';
    const reason = !pod ? 'the pod was deleted' : deadline ? 'the pod exceeded its activeDeadlineSeconds'
      : `the supervisor ended without a summary (pod ${pod.status?.phase ?? 'unknown'}${pod.status?.reason ? `, ${pod.status.reason}` : ''})`;
    return { status: deadline ? 'TimedOut' : 'Failed', reason };
  }

  async kill(): Promise<void> {
    if (this.created) await this.kube.deletePod(this.namespace, this.podName, 0).catch(() => undefined);
  }

  async cleanup(keep: boolean): Promise<void> {
    for (const a of this.aborts) a();
    if (keep) {
      if (this.created) this.note(`kept pod ${this.podRef}`);
      for (const o of this.objects) this.note(`kept ${o.kind.toLowerCase()} ${this.namespace}/${o.metadata.name}`);
      return;
    }
    if (this.created) {
      try {
        await this.kube.deletePod(this.namespace, this.podName, 5);
      } catch (e) {
        if (!isStatus(e, 404)) this.note(`could not delete pod ${this.podRef}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const o of this.objects) {
      try {
        await this.kube.deleteCoreObject(this.namespace, o.kind, o.metadata.name);
      } catch (e) {
        if (!isStatus(e, 404)) this.note(`could not delete ${o.kind.toLowerCase()} ${this.namespace}/${o.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
