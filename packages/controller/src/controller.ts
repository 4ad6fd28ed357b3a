/**
 * The reconciler: watches delegated PipelineRuns, pipod CustomRuns, their
 * pods and the feature flag; creates one pod per run (deterministic name,
 * adopted on 409), follows the supervisor's event stream and keeps the
 * run's and its TaskRuns' status current. Decisions live in status.ts and
 * rules.ts; this file is the I/O around them.
 */
import { SUPERVISOR_CONTAINER } from '@pipod/plan';
import type { V1Pod } from '@kubernetes/client-node';
import { type RunBuildOptions, type RefSource, buildRunPod, clusterRefSource } from './build.ts';
import { type KObject, type Kube, RESOURCES, type Resource, isStatus, orNotFound } from './kube.ts';
import { EventRecorder } from './events.ts';
import { WorkQueue } from './queue.ts';
import { followSupervisor, readSupervisorLog } from './stream.ts';
import { deathExecCommand, newDeaths } from './deaths.ts';
import { LeaderElector } from './leader.ts';
import type { Logger } from './log.ts';
import { Metrics, defineControllerMetrics } from './metrics.ts';
import {
  ANNOTATION_TASKS, FLAGS_CONFIGMAP, parseShapes, LABEL_MANAGED, LABEL_RUN_KIND, LABEL_RUN_NAME, LABEL_RUN_UID, type TaskShape,
  cancelExecCommand, cancelFileContent, cancelRequest, flagEnabled, isDelegatedPipelineRun, isPipodCustomRun, pipelineRunForCustomRun,
  type PodHealth, podFailure, podHealth, podName as podNameFor, taskRunName, taskRunObject,
} from './rules.ts';
import {
  type CancelRequest, EMPTY_RUN, type RunContext, type RunState, customRunStatus, isDone, pipelineRunStatus, podFailureApplies, taskRunStatus,
} from './status.ts';
import type { CancelMode } from '@pipod/plan';

/** Which run kinds the controller reconciles. */
export type RunKind = 'PipelineRun' | 'CustomRun';

/** Options of the controller. */
export interface ControllerOptions extends Omit<RunBuildOptions, 'startTime'> {
  /** The controller's own namespace: feature flags and the leader Lease live here. */
  readonly namespace: string;
  /** Only reconcile runs in this namespace (default: all namespaces). */
  readonly watchNamespace?: string;
  /** This replica's name in the Lease. */
  readonly identity: string;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Take part in leader election (default true); false reconciles unconditionally (tests, single dev process). */
  readonly leaderElection?: boolean;
  /** How often every run is re-listed even without watch events. */
  readonly resyncMs?: number;
  /** Where Pipelines and Tasks come from (default: the cluster). */
  readonly refs?: RefSource;
  /** Record Kubernetes Events on runs (default true). */
  readonly events?: boolean;
}

interface Tracker {
  readonly key: string;
  readonly kind: RunKind;
  readonly namespace: string;
  readonly name: string;
  uid?: string;
  podName?: string;
  state: RunState;
  follow?: { readonly podName: string; stop: () => void };
  readonly written: Map<string, string>;
  readonly created: Set<string>;
  cancelDelivered?: string;
  /** Containers whose death was written into the pod (the supervisor ends their steps). */
  deaths?: Set<string>;
  shapes?: Record<string, TaskShape>;
  /** When this process created the pod (ms), for the pod-start histogram. */
  createdAtMs?: number;
  /** The pod was seen running (the PodStarted Event and the pod-start time are recorded once). */
  started?: boolean;
  /** The pod-level failure already recorded as an Event. */
  failureRecorded?: string;
  /** The run's startTime as this process wrote it (the run object read this pass may predate it). */
  startTime?: string;
}

const resourceOf: Record<RunKind, Resource> = { PipelineRun: RESOURCES.pipelineRuns, CustomRun: RESOURCES.customRuns };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The pipod controller. */
export class Controller {
  private flag = false;
  private readonly trackers = new Map<string, Tracker>();
  private readonly work = new WorkQueue((key) => this.reconcile(key));
  private readonly stops: (() => void)[] = [];
  private elector: LeaderElector | undefined;
  private stopped = false;
  readonly metrics: Metrics;
  private readonly refs: RefSource;
  private readonly recorder: EventRecorder | undefined;

  constructor(private readonly kube: Kube, private readonly opts: ControllerOptions) {
    this.metrics = defineControllerMetrics(opts.metrics ?? new Metrics());
    this.refs = opts.refs ?? clusterRefSource(kube);
    this.recorder = opts.events === false ? undefined : new EventRecorder(kube, opts.log, opts.identity);
  }

  private async event(run: KObject, type: 'Normal' | 'Warning', reason: Parameters<EventRecorder['record']>[2], message: string): Promise<void> {
    await this.recorder?.record(run, type, reason, message);
  }

  /** True when this replica may write (it leads, or leader election is off). */
  get leading(): boolean {
    return this.opts.leaderElection === false || (this.elector?.isLeader ?? false);
  }

  /** Whether the feature flag is on, as last seen. */
  get enabled(): boolean {
    return this.flag;
  }

  /** Starts watching and reconciling; returns once the initial flag is read. */
  async start(): Promise<void> {
    const { namespace } = this.opts;
    this.setFlag(flagEnabled((await orNotFound(this.kube.getConfigMap(namespace, FLAGS_CONFIGMAP)))?.data));
    if (this.opts.leaderElection !== false) {
      this.elector = new LeaderElector(this.kube, { namespace, name: 'pipod-controller', identity: this.opts.identity }, this.opts.log, (leader) => {
        this.metrics.set('pipod_leader', leader ? 1 : 0);
        if (leader) void this.resync();
        else for (const t of this.trackers.values()) this.unfollow(t);
      });
      this.elector.start();
    } else {
      this.metrics.set('pipod_leader', 1);
    }
    this.watchLoop(`/api/v1/namespaces/${namespace}/configmaps`, { fieldSelector: `metadata.name=${FLAGS_CONFIGMAP}` }, (type, o) => {
      this.setFlag(type === 'DELETED' ? false : flagEnabled(o.data));
    });
    const ns = this.opts.watchNamespace;
    const path = (r: Resource): string => (ns ? `/apis/${r.group}/${r.version}/namespaces/${ns}/${r.plural}` : `/apis/${r.group}/${r.version}/${r.plural}`);
    this.watchLoop(path(RESOURCES.pipelineRuns), {}, (_t, o) => { if (isDelegatedPipelineRun(o)) this.enqueue(keyOf('PipelineRun', o)); });
    this.watchLoop(path(RESOURCES.customRuns), {}, (_t, o) => { if (isPipodCustomRun(o)) this.enqueue(keyOf('CustomRun', o)); });
    this.watchLoop(ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods', { labelSelector: `${LABEL_MANAGED}=pipod,${LABEL_RUN_KIND}` }, (_t, o) => {
      const kind = o.metadata?.labels?.[LABEL_RUN_KIND];
      const name = o.metadata?.labels?.[LABEL_RUN_NAME];
      if ((kind === 'PipelineRun' || kind === 'CustomRun') && name && o.metadata?.namespace) this.enqueue(`${kind}/${o.metadata.namespace}/${name}`);
    });
    const resync = setInterval(() => void this.resync(), this.opts.resyncMs ?? 30_000);
    this.stops.push(() => clearInterval(resync));
    await this.resync();
  }

  /** Stops watches, followers and leader election (giving the Lease up). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.stops) s();
    this.work.stop();
    for (const t of this.trackers.values()) this.unfollow(t);
    await this.elector?.stop();
  }

  private setFlag(on: boolean): void {
    if (on !== this.flag) this.opts.log.log('info', 'feature flag changed', { flag: 'enable-pipeline-in-pod', enabled: on });
    this.flag = on;
    this.metrics.set('pipod_feature_enabled', on ? 1 : 0);
    if (on) void this.resync();
  }

  private watchLoop(path: string, query: Record<string, string>, onEvent: (type: string, o: KObject) => void): void {
    let current: { abort: () => void } | undefined;
    this.stops.push(() => current?.abort());
    const loop = async (): Promise<void> => {
      while (!this.stopped) {
        const w = this.kube.watch(path, query, (type, o) => {
          if (type === 'ERROR') return;
          onEvent(type, o);
        });
        current = w;
        await w.done;
        if (!this.stopped) await sleep(1000);
      }
    };
    void loop();
  }

  /** Lists every run and enqueues those that are ours and not done. */
  async resync(): Promise<void> {
    if (this.stopped) return;
    for (const kind of ['PipelineRun', 'CustomRun'] as const) {
      try {
        const { items } = await this.kube.listCustom(resourceOf[kind], this.opts.watchNamespace);
        for (const o of items) {
          const ours = kind === 'PipelineRun' ? isDelegatedPipelineRun(o) : isPipodCustomRun(o);
          if (ours && !isDone(o.status as never)) this.enqueue(keyOf(kind, o));
        }
      } catch (e) {
        // 404: the kind is not installed (no Tekton CRDs yet); nothing to list.
        if (!isStatus(e, 404)) this.opts.log.log('warn', 'resync list failed', { kind, error: errText(e) });
      }
    }
  }

  /** Queues a run for reconciliation (deduplicated; re-run after an in-flight pass). */
  enqueue(key: string): void {
    if (!this.stopped) this.work.add(key);
  }

  private enqueueLater(key: string, ms: number): void {
    this.work.addAfter(key, ms);
  }

  /** One reconcile pass for one run; never throws (errors are logged and retried later). */
  async reconcile(key: string): Promise<void> {
    const [kind, namespace, name] = key.split('/') as [RunKind, string, string];
    const t0 = performance.now();
    try {
      await this.reconcileRun(kind, namespace, name, key);
      this.metrics.inc('pipod_reconcile_total', { kind, result: 'ok' });
    } catch (e) {
      this.metrics.inc('pipod_reconcile_total', { kind, result: 'error' });
      this.opts.log.log('error', 'reconcile failed', { run: key, error: errText(e), code: (e as { code?: unknown }).code });
      this.enqueueLater(key, 3000);
    }
    this.metrics.observe('pipod_reconcile_duration_seconds', (performance.now() - t0) / 1000, { kind });
  }

  private tracker(key: string, kind: RunKind, namespace: string, name: string, uid: string | undefined): Tracker {
    let t = this.trackers.get(key);
    if (t && uid && t.uid && t.uid !== uid) {
      // Same name, new object: forget everything about the old one.
      this.drop(key);
      t = undefined;
    }
    if (!t) {
      t = { key, kind, namespace, name, uid, state: EMPTY_RUN, written: new Map(), created: new Set() };
      this.trackers.set(key, t);
      this.metrics.set('pipod_active_runs', this.trackers.size);
    }
    return t;
  }

  private drop(key: string): void {
    const t = this.trackers.get(key);
    if (t) this.unfollow(t);
    this.trackers.delete(key);
    this.metrics.set('pipod_active_runs', this.trackers.size);
  }

  private unfollow(t: Tracker): void {
    t.follow?.stop();
    t.follow = undefined;
  }

  private async reconcileRun(kind: RunKind, namespace: string, name: string, key: string): Promise<void> {
    const res = resourceOf[kind];
    const run = await orNotFound(this.kube.getCustom(res, namespace, name));
    if (!run || !(kind === 'PipelineRun' ? isDelegatedPipelineRun(run) : isPipodCustomRun(run))) return this.drop(key);
    if (isDone(run.status as never)) return this.drop(key);
    if (!this.leading) return;
    const t = this.tracker(key, kind, namespace, name, run.metadata?.uid);
    const spec = run.spec ?? {};
    const status = (run.status ?? {}) as Record<string, unknown>;
    if (kind === 'PipelineRun' && spec['status'] === 'PipelineRunPending') {
      await this.writeRunStatus(t, run, { ...status, conditions: [{ type: 'Succeeded', status: 'Unknown', reason: 'PipelineRunPending', message: 'PipelineRun is pending' }] });
      return;
    }
    const extra = (status['extraFields'] ?? {}) as { podName?: string; attempt?: number; retriesStatus?: unknown[] };
    const attempt = kind === 'CustomRun' ? extra.attempt ?? 0 : 0;
    const podName = podNameFor(name, attempt);
    t.podName = podName;
    const cancel = cancelRequest(kind, spec);
    let pod = await orNotFound(this.kube.getPod(namespace, podName));
    if (pod && pod.metadata?.labels?.[LABEL_RUN_UID] !== run.metadata?.uid) {
      // A pod left by an earlier run of the same name: wait for garbage collection, never adopt it.
      this.opts.log.log('warn', 'pod belongs to another run of the same name; waiting for it to go', { run: key, pod: podName });
      this.enqueueLater(key, 5000);
      return;
    }
    const hadPod = kind === 'PipelineRun' ? typeof status['startTime'] === 'string' : extra.podName === podName;
    if (!pod) {
      if (hadPod) {
        await this.finish(t, run, attempt, { cancel, podFailure: podFailure(undefined, true, new Date().toISOString()), startTime: status['startTime'] as string | undefined });
        return;
      }
      pod = await this.startPod(t, run, attempt, cancel);
      if (!pod) return;
    } else if (!t.follow) {
      this.metrics.inc('pipod_pods_adopted_total');
    }
    t.shapes ??= parseShapes(pod.metadata?.annotations?.[ANNOTATION_TASKS]);
    this.follow(t, pod);
    const { failure, pending } = await this.judgePod(t, run, pod, cancel);
    const startTime = (t.startTime ?? status['startTime']) as string | undefined;
    const ctx: RunContext = {
      ...(cancel ? { cancel } : {}), ...(failure ? { podFailure: failure } : {}), ...(pending ? { pending } : {}), ...(startTime ? { startTime } : {}),
    };
    if (t.state.summary || failure) await this.finish(t, run, attempt, ctx);
    else await this.syncStatus(t, run, attempt, ctx);
  }

  /** Builds and creates the run's pod (adopting one a 409 reveals) and writes the first Running status; undefined when the run ended before it. */
  private async startPod(t: Tracker, run: KObject, attempt: number, cancel: CancelRequest | undefined): Promise<V1Pod | undefined> {
    const { kind, namespace, name, key } = t;
    const podName = podNameFor(name, attempt);
    const status = (run.status ?? {}) as Record<string, unknown>;
    const extra = (status['extraFields'] ?? {}) as Record<string, unknown>;
    const now = new Date().toISOString();
    if (cancel) {
      await this.failBeforeStart(t, run, kind === 'PipelineRun' ? 'Cancelled' : 'CustomRunCancelled', `${kind} "${name}" was cancelled before it started`);
      return undefined;
    }
    if (!this.flag) {
      await this.failBeforeStart(t, run, 'PipelineInPodDisabled',
        `pipod is disabled: set enable-pipeline-in-pod: "true" in ConfigMap ${this.opts.namespace}/${FLAGS_CONFIGMAP} to run ${kind}s in one pod`);
      return undefined;
    }
    const body = kind === 'PipelineRun' ? (run as unknown as Record<string, unknown>) : pipelineRunForCustomRun(run);
    const built = await buildRunPod(this.refs, run, body, podName, { ...this.opts, startTime: now });
    if (built.kind === 'failed') {
      await this.failBeforeStart(t, run, built.reason, built.message);
      return undefined;
    }
    let pod: V1Pod;
    try {
      pod = await this.kube.createPod(namespace, built.pod as V1Pod);
      t.createdAtMs = Date.now();
      this.metrics.inc('pipod_pods_created_total');
      const tasks = built.plan.tasks.length + built.plan.finally.length;
      this.opts.log.log('info', 'created pod', { run: key, pod: podName, tasks });
      await this.event(run, 'Normal', 'PodCreated', `created pod ${podName} for ${tasks} task${tasks === 1 ? '' : 's'}`);
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
      pod = await this.kube.getPod(namespace, podName);
      this.metrics.inc('pipod_pods_adopted_total');
      this.opts.log.log('info', 'adopted existing pod', { run: key, pod: podName });
    }
    const startTime = kind === 'CustomRun' && typeof status['startTime'] === 'string' ? status['startTime'] : now;
    const running = [{ type: 'Succeeded', status: 'Unknown', reason: 'Running', message: 'pod created', lastTransitionTime: now }];
    await this.writeRunStatus(t, run, kind === 'PipelineRun'
      ? { ...status, startTime, conditions: running }
      : { ...status, startTime, conditions: running, extraFields: { ...extra, podName, attempt } });
    t.startTime = startTime;
    return pod;
  }

  /** Delivers a cancel, reads a finished pod's log, records start, and carries out the pod-health verdict (delete, recheck, Events). */
  private async judgePod(t: Tracker, run: KObject, pod: V1Pod, cancel: CancelRequest | undefined): Promise<PodHealth> {
    const podName = pod.metadata?.name ?? '';
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    if (cancel && !t.state.summary && !terminal) await this.deliverCancel(t, pod, cancelFileContent(cancel));
    if (phase === 'Running' && !t.state.summary) await this.reportDeaths(t, pod);
    if ((terminal || pod.metadata?.deletionTimestamp) && !t.state.summary) await this.readWholeLog(t, podName);
    // A short run can go from Pending to Succeeded between two looks: the supervisor's first event says the pod started too.
    if (!t.started && (phase === 'Running' || t.state.startTime !== undefined)) {
      t.started = true;
      const created = t.createdAtMs ?? (pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : undefined);
      const startedAt = t.state.startTime !== undefined ? Date.parse(t.state.startTime) : Date.now();
      if (created !== undefined) this.metrics.observe('pipod_pod_start_duration_seconds', Math.max(0, startedAt - created) / 1000, { kind: t.kind });
      await this.event(run, 'Normal', 'PodStarted', `pod ${podName} started${pod.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : ''}`);
    }
    const health = podHealth({ kind: t.kind, runName: t.name, pod, cancel, summarized: Boolean(t.state.summary), events: t.state.events, nowMs: Date.now() });
    if (health.failure && t.failureRecorded !== health.failure.reason) {
      t.failureRecorded = health.failure.reason;
      await this.event(run, 'Warning', 'PodFailed', `${health.failure.reason}: ${health.failure.message}`);
    }
    if (health.deletePod) {
      await orNotFound(this.kube.deletePod(t.namespace, podName, 0));
      this.metrics.inc('pipod_pods_deleted_total', { reason: health.failure?.reason ?? 'unknown' });
      await this.event(run, 'Warning', 'PodDeleted', `deleted pod ${podName} (${health.failure?.reason ?? 'no reason'})`);
    }
    if (health.recheckMs !== undefined) this.enqueueLater(t.key, health.recheckMs);
    return health;
  }

  private async failBeforeStart(t: Tracker, run: KObject, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const status = { ...(run.status ?? {}), startTime: (run.status as { startTime?: string } | undefined)?.startTime ?? now, completionTime: now, conditions: [{ type: 'Succeeded', status: 'False', reason, message, lastTransitionTime: now }] };
    await this.writeRunStatus(t, run, status);
    this.metrics.inc('pipod_runs_finished_total', { kind: t.kind, reason });
    this.opts.log.log('info', 'run failed before start', { run: t.key, reason, message });
    await this.event(run, 'Warning', 'RunFailed', `${reason}: ${message}`);
    this.drop(t.key);
  }

  /** Final status; for a CustomRun whose attempt failed with retries left, starts the next attempt instead. */
  private async finish(t: Tracker, run: KObject, attempt: number, ctx: RunContext): Promise<void> {
    const outcome = t.state.summary?.status;
    const failed = podFailureApplies(t.state, ctx) !== undefined || outcome === 'Failed' || outcome === 'TimedOut';
    const retries = typeof run.spec?.['retries'] === 'number' ? run.spec['retries'] : 0;
    if (t.kind === 'CustomRun' && failed && !ctx.cancel && attempt < retries) {
      const st = await this.syncStatus(t, run, attempt, ctx);
      const prev = ((run.status as { retriesStatus?: unknown[] } | undefined)?.retriesStatus ?? []);
      const next = attempt + 1;
      const now = new Date().toISOString();
      await this.writeRunStatus(t, run, {
        ...(run.status ?? {}), retriesStatus: [...prev, st],
        conditions: [{ type: 'Succeeded', status: 'Unknown', reason: 'Running', message: `attempt ${next + 1} of ${retries + 1}`, lastTransitionTime: now }],
        extraFields: { attempt: next },
      });
      this.opts.log.log('info', 'retrying custom run', { run: t.key, attempt: next });
      this.drop(t.key);
      this.enqueue(t.key);
      return;
    }
    const st = await this.syncStatus(t, run, attempt, ctx);
    const cond = (st as { conditions?: { status?: string; reason?: string; message?: string }[] }).conditions?.[0];
    const reason = cond?.reason ?? 'Unknown';
    this.metrics.inc('pipod_runs_finished_total', { kind: t.kind, reason });
    const times = st as { startTime?: unknown; completionTime?: unknown };
    if (typeof times.startTime === 'string') {
      const end = typeof times.completionTime === 'string' ? new Date(times.completionTime).getTime() : Date.now();
      this.metrics.observe('pipod_run_duration_seconds', (end - new Date(times.startTime).getTime()) / 1000, { kind: t.kind, reason });
    }
    this.opts.log.log('info', 'run finished', { run: t.key, reason });
    const ok = cond?.status === 'True';
    await this.event(run, ok ? 'Normal' : 'Warning', ok ? 'RunFinished' : 'RunFailed', `${t.kind} finished: ${reason}${cond?.message ? `: ${cond.message}` : ''}`);
    this.drop(t.key);
  }

  /** Creates missing TaskRuns and writes every changed status; returns the run status written. */
  private async syncStatus(t: Tracker, run: KObject, attempt: number, ctx: RunContext): Promise<Record<string, unknown>> {
    const podName = t.podName ?? podNameFor(t.name, attempt);
    const trName = (task: string): string => taskRunName(t.name, task, attempt);
    const s = t.state;
    const gone = podFailureApplies(s, ctx);
    // A TaskRun that cannot be written (an admission webhook down) must not keep the run's own status stale: go on, fail the pass at the end.
    let taskRunError: unknown;
    for (const task of s.order) {
      const ts = s.tasks[task];
      if (!ts) continue;
      const n = trName(task);
      try {
        if (!t.created.has(n)) {
          try {
            await this.kube.createCustom(RESOURCES.taskRuns, t.namespace, taskRunObject(run, task, n, podName, t.shapes?.[task]));
            this.metrics.inc('pipod_taskruns_created_total');
          } catch (e) {
            if (!isStatus(e, 409)) throw e;
          }
          t.created.add(n);
        }
        await this.writeStatus(t, RESOURCES.taskRuns, n, taskRunStatus(ts, podName, gone));
      } catch (e) {
        taskRunError ??= e;
      }
    }
    let status: Record<string, unknown>;
    if (t.kind === 'PipelineRun') {
      status = { ...(run.status ?? {}), ...pipelineRunStatus(s, ctx, trName) };
    } else {
      const cr = customRunStatus(s, ctx, podName, attempt, trName);
      const prev = (run.status as { retriesStatus?: unknown[] } | undefined)?.retriesStatus;
      status = { ...cr, ...(prev ? { retriesStatus: prev } : {}), ...(ctx.startTime ? { startTime: ctx.startTime } : {}) };
    }
    // Never mark the run finished while a TaskRun is stale: once done, the run is not revisited.
    if (taskRunError !== undefined && isDone(status as never)) throw taskRunError;
    await this.writeRunStatus(t, run, status);
    if (taskRunError !== undefined) throw taskRunError;
    return status;
  }

  private async writeRunStatus(t: Tracker, run: KObject, status: unknown): Promise<void> {
    await this.writeStatus(t, resourceOf[t.kind], run.metadata?.name ?? t.name, status);
  }

  private async writeStatus(t: Tracker, res: Resource, name: string, status: unknown): Promise<void> {
    const json = JSON.stringify(status);
    const cacheKey = `${res.plural}/${name}`;
    if (t.written.get(cacheKey) === json) return;
    await this.kube.patchCustomStatus(res, t.namespace, name, status);
    t.written.set(cacheKey, json);
    this.metrics.inc('pipod_status_writes_total', { resource: res.plural });
  }

  /** Follows the supervisor's log (see stream.ts); every event moves the run's state and asks for a status sync soon. */
  private follow(t: Tracker, pod: V1Pod): void {
    const podName = pod.metadata?.name ?? '';
    if (t.follow?.podName === podName) return;
    this.unfollow(t);
    const stop = followSupervisor(this.kube, t.namespace, podName, {
      seen: () => t.state.events,
      onState: (s, ev) => {
        this.metrics.inc('pipod_events_total');
        t.state = s;
        this.enqueueLater(t.key, ev.type === 'run.finished' ? 0 : 250);
      },
      onGap: () => this.enqueue(t.key), closed: () => this.stopped, log: this.opts.log, run: t.key,
    });
    t.follow = { podName, stop };
  }

  private async readWholeLog(t: Tracker, podName: string): Promise<void> {
    try {
      const s = await readSupervisorLog(this.kube, t.namespace, podName);
      if (s.events >= t.state.events) t.state = s;
    } catch (e) {
      this.opts.log.log('warn', 'could not read the supervisor log', { run: t.key, pod: podName, error: errText(e) });
    }
  }

  /** Tells the supervisor, by exec, of each step or sidecar container that died or cannot start (`newDeaths`). */
  private async reportDeaths(t: Tracker, pod: V1Pod): Promise<void> {
    const seen = (t.deaths ??= new Set());
    for (const d of newDeaths(pod, seen)) {
      const r = await this.kube.exec(t.namespace, pod.metadata?.name ?? '', SUPERVISOR_CONTAINER, deathExecCommand(d)).catch((e: unknown) => ({ status: 'Failure', message: String(e), stderr: '' }));
      if (r.status === 'Success') seen.add(d.container);
      else this.enqueueLater(t.key, 1000);
    }
  }

  /** Writes `/pipod/run/cancel` inside the pod with the pod's own node (the step images need no shell). */
  private async deliverCancel(t: Tracker, pod: V1Pod, content: CancelMode): Promise<void> {
    const podName = pod.metadata?.name ?? '';
    const mark = `${podName}:${content}`;
    if (t.cancelDelivered === mark) return;
    if (pod.status?.phase !== 'Running') {
      this.enqueueLater(t.key, 1000);
      return;
    }
    const r = await this.kube.exec(t.namespace, podName, SUPERVISOR_CONTAINER, cancelExecCommand(content));
    if (r.status !== 'Success') {
      this.opts.log.log('warn', 'cancel delivery failed; will retry', { run: t.key, pod: podName, status: r.status, message: r.message, stderr: r.stderr.slice(0, 500) });
      this.enqueueLater(t.key, 2000);
      return;
    }
    t.cancelDelivered = mark;
    this.metrics.inc('pipod_cancels_delivered_total');
    this.opts.log.log('info', 'cancel delivered', { run: t.key, pod: podName, mode: content });
  }
}

function keyOf(kind: RunKind, o: KObject): string {
  return `${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
