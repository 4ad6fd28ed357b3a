/**
 * Small pure decisions of the reconciler: which objects are ours, what they
 * ask for, deterministic names, and the objects we create. Table-tested.
 */
import { Layout, dnsLabel, parseDuration, type CancelMode } from '@pipod/plan';
import type { V1Pod } from '@kubernetes/client-node';
import { DEADLINE_MARGIN_S } from '@pipod/podbuilder';
import type { KObject } from './kube.ts';
import type { CancelRequest } from './status.ts';

/** Value of `spec.managedBy` that hands a PipelineRun (and our TaskRuns) to pipod. */
export const MANAGED_BY = 'pipod.dev/controller';

/** apiVersion and kind of a pipod custom task in a Tekton pipeline. */
export const CUSTOM_API_VERSION = 'pipod.dev/v1alpha1';
/** Kind of the pipod custom task: a Pipeline run inside one pod. */
export const CUSTOM_KIND = 'PipelineInPod';

/** The feature-flag ConfigMap and its key. */
export const FLAGS_CONFIGMAP = 'pipod-feature-flags';
/** Key in the flags ConfigMap that turns the controller's work on. */
export const FLAG_KEY = 'enable-pipeline-in-pod';

/** Labels on every pod and TaskRun pipod creates. */
export const LABEL_MANAGED = 'app.kubernetes.io/managed-by';
/** Label carrying the owning run's uid, so a pod left from a deleted run of the same name is never adopted. */
export const LABEL_RUN_UID = 'pipod.dev/run-uid';
/** Label naming the kind of the owning run (`PipelineRun` or `CustomRun`). */
export const LABEL_RUN_KIND = 'pipod.dev/run-kind';
/** Label naming the owning run. */
export const LABEL_RUN_NAME = 'pipod.dev/run';
/** Pod annotation with what TaskRuns need (step names, images, results) per task, written at creation. */
export const ANNOTATION_TASKS = 'pipod.dev/controller-tasks';

/** The feature flag: on for `true` (any case, trimmed); off when missing. */
export function flagEnabled(data: Readonly<Record<string, string>> | undefined): boolean {
  return (data?.[FLAG_KEY] ?? '').trim().toLowerCase() === 'true';
}

/** True for a PipelineRun delegated to pipod. */
export function isDelegatedPipelineRun(o: KObject): boolean {
  return o.spec?.['managedBy'] === MANAGED_BY;
}

/** True for a CustomRun of the pipod kind, by reference or embedded. */
export function isPipodCustomRun(o: KObject): boolean {
  for (const key of ['customRef', 'customSpec']) {
    const r = o.spec?.[key] as { apiVersion?: unknown; kind?: unknown } | undefined;
    if (r && r.apiVersion === CUSTOM_API_VERSION && r.kind === CUSTOM_KIND) return true;
  }
  return false;
}

/** The cancel a run's spec asks for, if any (CustomRun's `RunCancelled` stops at once, like `Cancelled`). */
export function cancelRequest(kind: 'PipelineRun' | 'CustomRun', spec: Readonly<Record<string, unknown>> | undefined): CancelRequest | undefined {
  const s = spec?.['status'];
  if (kind === 'CustomRun') return s === 'RunCancelled' ? 'Cancelled' : undefined;
  return s === 'Cancelled' || s === 'CancelledRunFinally' || s === 'StoppedRunFinally' ? s : undefined;
}

/** What the supervisor's cancel file gets for each of Tekton's cancel requests. */
export function cancelFileContent(c: CancelRequest): CancelMode {
  return c === 'Cancelled' ? 'immediate' : c === 'StoppedRunFinally' ? 'stop' : 'graceful';
}

/**
 * The argv that writes the cancel file inside a run pod (exec in the
 * supervisor container) with the pod's own node: no shell is needed in any
 * image, and write-then-rename means the supervisor never reads half a word.
 */
export function cancelExecCommand(mode: CancelMode, layout: Layout = new Layout()): string[] {
  const script = `const fs=require('fs');const p=${JSON.stringify(layout.cancelFile)};fs.mkdirSync(require('path').dirname(p),{recursive:true});fs.writeFileSync(p+'.tmp',${JSON.stringify(mode)});fs.renameSync(p+'.tmp',p)`;
  return [layout.loader, '--library-path', layout.libDir, layout.node, '-e', script];
}

/** The run's pod: a stable name so a restarted controller finds (and never duplicates) it. */
export function podName(runName: string, attempt = 0): string {
  return dnsLabel(attempt === 0 ? [runName, 'pipod'] : [runName, 'pipod', `r${attempt}`]);
}

/** The TaskRun that mirrors one pipeline task of a run (per attempt for retried CustomRuns). */
export function taskRunName(runName: string, task: string, attempt = 0): string {
  return dnsLabel(attempt === 0 ? [runName, task] : [runName, `r${attempt}`, task]);
}

/** Why a pod ended without the supervisor's summary, in Tekton-like reasons. */
export function podFailure(pod: { status?: { phase?: string; reason?: string; message?: string } } | undefined, deleted: boolean, now: string): { reason: string; message: string; time: string } | undefined {
  if (deleted || !pod) return { reason: 'PodDeleted', message: 'the run\'s pod was deleted before the run finished', time: now };
  const st = pod.status;
  if (st?.phase !== 'Failed' && st?.phase !== 'Succeeded') return undefined;
  if (st.reason === 'Evicted') return { reason: 'PodEvicted', message: `the run's pod was evicted: ${st.message ?? ''}`.trim(), time: now };
  if (st.reason === 'DeadlineExceeded') return { reason: 'PipelineRunTimeout', message: 'the run\'s pod exceeded its activeDeadlineSeconds', time: now };
  return { reason: 'PodFailed', message: `the run's pod ended (${st.phase}${st.reason ? `, ${st.reason}` : ''}) without a run summary`, time: now };
}

/** Container waiting reasons that will not fix themselves: fail the start at once. */
const FATAL_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull']);

/** Why a pod cannot start, from its status, or undefined while it still may. */
export function startFailure(pod: V1Pod): string | undefined {
  const st = pod.status;
  if (st?.phase === 'Failed') return `pod failed${st.reason ? ` (${st.reason})` : ''}${st.message ? `: ${st.message}` : ''}`;
  for (const c of [...(st?.initContainerStatuses ?? []), ...(st?.containerStatuses ?? [])]) {
    const w = c.state?.waiting;
    if (w?.reason && FATAL_WAITING.has(w.reason)) return `container ${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
    const term = c.state?.terminated;
    if (term && (st?.initContainerStatuses ?? []).includes(c) && term.exitCode !== 0) return `init container ${c.name} exited ${term.exitCode}${term.message ? `: ${term.message}` : ''}`;
  }
  return undefined;
}

/**
 * What a pending pod is waiting for, for progress lines: the scheduler's
 * message while it is unschedulable (Tekton keeps waiting too; a node may
 * come), else the first container's waiting reason; undefined when nothing
 * is worth saying.
 */
export function startPending(pod: V1Pod): { readonly unschedulable: boolean; readonly message: string } | undefined {
  const st = pod.status;
  const sched = st?.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False') return { unschedulable: true, message: `not scheduled${sched.reason ? ` (${sched.reason})` : ''}${sched.message ? `: ${sched.message}` : ''}` };
  for (const c of [...(st?.initContainerStatuses ?? []), ...(st?.containerStatuses ?? [])]) {
    const w = c.state?.waiting;
    if (w?.reason && w.reason !== 'PodInitializing') return { unschedulable: false, message: `container ${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}` };
  }
  return undefined;
}

/**
 * When a pod that has not started its supervisor must give up: its creation
 * plus the pipeline budget the builder encoded in `activeDeadlineSeconds`
 * (minus the builder's margin). The kubelet enforces that deadline only once
 * the pod is bound to a node, and the supervisor's timer only once it runs;
 * Tekton counts a run's timeout from its start, pending time included.
 */
export function pendingDeadline(pod: V1Pod): { readonly at: number; readonly budgetMs: number } | undefined {
  const ads = pod.spec?.activeDeadlineSeconds;
  const created = pod.metadata?.creationTimestamp;
  if (ads === undefined || created === undefined) return undefined;
  const budgetMs = Math.max(0, ads - DEADLINE_MARGIN_S) * 1000;
  // creationTimestamp has whole seconds, cut down: one more second so the deadline is never early.
  return { at: new Date(created).getTime() + 1000 + budgetMs, budgetMs };
}

/** A pod-level reason the run ends now, as the run's status carries it. */
export interface PodFailure {
  readonly reason: string;
  readonly message: string;
  readonly time: string;
}

/** What the reconciler knows when it judges a run's pod. */
export interface PodHealthInput {
  readonly kind: 'PipelineRun' | 'CustomRun';
  readonly runName: string;
  readonly pod: V1Pod;
  readonly cancel: CancelRequest | undefined;
  /** The supervisor's summary has been read (the run's outcome is known). */
  readonly summarized: boolean;
  /** Supervisor events read so far (0: it never spoke). */
  readonly events: number;
  readonly nowMs: number;
}

/**
 * The verdict on a run's pod: the failure that ends the run now (if any),
 * whether the pod must be deleted for it, what a pending pod waits for, and
 * when to look again (nothing else wakes the reconciler while a pod waits).
 */
export interface PodHealth {
  readonly failure?: PodFailure;
  readonly deletePod: boolean;
  readonly pending?: string;
  readonly recheckMs?: number;
}

/**
 * Judges a run's pod (pure): a terminal or deleted pod ends the run unless
 * the summary already did; a pod that cannot start (image pull, container
 * config, failed init), a cancelled pod no node takes, and a pod past the
 * pipeline's deadline before its supervisor spoke are failed and deleted.
 * Call it after the whole log of a terminal pod has been read.
 */
export function podHealth(i: PodHealthInput): PodHealth {
  const { pod, kind, runName } = i;
  const now = new Date(i.nowMs).toISOString();
  const phase = pod.status?.phase;
  const deleting = Boolean(pod.metadata?.deletionTimestamp);
  if (phase === 'Succeeded' || phase === 'Failed' || deleting) {
    // A deleted or evicted pod fails the run even when its supervisor managed to report (SIGTERM reads as a cancel).
    const failure = deleting ? podFailure(pod, true, now) : !i.summarized || pod.status?.reason === 'Evicted' ? podFailure(pod, false, now) : undefined;
    return { deletePod: false, ...(failure ? { failure } : {}) };
  }
  if (i.summarized) return { deletePod: false };
  // An image that cannot be pulled (or a container that cannot be created) never fixes itself: fail now, as Tekton does.
  const stuck = startFailure(pod);
  // Its other containers would otherwise wait until the pod's deadline.
  if (stuck !== undefined) return { deletePod: true, failure: { reason: 'PodStartFailed', message: `the run's pod cannot start: ${stuck}`, time: now } };
  if (phase !== 'Pending') return { deletePod: false };
  const waits = startPending(pod);
  if (i.cancel && waits?.unschedulable) {
    // Finally could only run in this pod, which no node takes: the run ends cancelled now (Tekton deletes a pending pod on cancel too).
    const reason = kind === 'PipelineRun' ? 'Cancelled' : 'CustomRunCancelled';
    return { deletePod: true, failure: { reason, message: `${kind} "${runName}" was cancelled before its pod was scheduled`, time: now } };
  }
  const pending = waits?.message;
  const deadline = i.events === 0 ? pendingDeadline(pod) : undefined;
  if (deadline !== undefined && i.nowMs >= deadline.at) {
    const reason = kind === 'PipelineRun' ? 'PipelineRunTimeout' : 'CustomRunTimedOut';
    const message = `${kind} "${runName}" failed to finish within ${deadline.budgetMs / 1000}s: its pod never started${pending ? ` (${pending})` : ''}`;
    return { deletePod: true, failure: { reason, message, time: now } };
  }
  return {
    deletePod: false, ...(pending ? { pending } : {}),
    ...(deadline !== undefined ? { recheckMs: Math.min(deadline.at - i.nowMs + 100, 60_000) } : {}),
  };
}

/** Parses a timeout as Tekton writes it (`1h2m3s`, `.5s`, `500ms`, `0`) into milliseconds: the plan's one Go-duration parser, non-negative. */
export function parseGoDuration(s: unknown): number | undefined {
  return parseDuration(s);
}

/**
 * An owner reference that makes the run own (and garbage-collect) the
 * objects pipod creates for it. `controller` is false for TaskRuns: Tekton's
 * PipelineRun controller (v1.10) enqueues the controlling PipelineRun of
 * every TaskRun without checking `managedBy`, and would then reconcile a
 * delegated run and create TaskRuns of its own.
 */
export function ownerReference(run: KObject, controller = true): Record<string, unknown> {
  return {
    apiVersion: run.apiVersion, kind: run.kind, name: run.metadata?.name, uid: run.metadata?.uid, controller, blockOwnerDeletion: true,
  };
}

/**
 * The PipelineRun the builder gets for a pipod CustomRun: the Pipeline named
 * by `customRef.name` or embedded in `customSpec.spec`, with the CustomRun's
 * params, workspaces and timeout.
 */
export function pipelineRunForCustomRun(cr: KObject): Record<string, unknown> {
  const spec = cr.spec ?? {};
  const ref = spec['customRef'] as { name?: string } | undefined;
  const embedded = (spec['customSpec'] as { spec?: unknown } | undefined)?.spec;
  const timeout = spec['timeout'];
  const prSpec: Record<string, unknown> = {
    ...(ref?.name ? { pipelineRef: { name: ref.name } } : { pipelineSpec: embedded ?? {} }),
    ...(Array.isArray(spec['params']) ? { params: spec['params'] } : {}),
    ...(Array.isArray(spec['workspaces']) ? { workspaces: spec['workspaces'] } : {}),
    ...(typeof timeout === 'string' ? { timeouts: { pipeline: timeout } } : {}),
    ...(typeof spec['serviceAccountName'] === 'string' ? { taskRunTemplate: { serviceAccountName: spec['serviceAccountName'] } } : {}),
  };
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
    metadata: { name: cr.metadata?.name, namespace: cr.metadata?.namespace, uid: cr.metadata?.uid },
    spec: prSpec,
  };
}

/** What a TaskRun needs to know about its task's shape; recorded on the pod so a restarted controller has it. */
export interface TaskShape {
  readonly taskRef?: string;
  readonly steps: readonly { readonly name: string; readonly image: string }[];
  readonly results: readonly { readonly name: string; readonly type: string }[];
  /** The task's own labels and annotations (`taskSpec.metadata`, `taskRunSpecs[].metadata`), as Tekton puts them on its TaskRun. */
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
}

/** The TaskRun object (without status) that mirrors one task; Tekton validates it, so its taskSpec is minimal and valid. */
export function taskRunObject(run: KObject, task: string, name: string, pod: string, shape: TaskShape | undefined): KObject {
  const runName = run.metadata?.name ?? '';
  const steps = (shape?.steps.length ? shape.steps : [{ name: 'run', image: 'pipod' }]).map((s) => ({ name: s.name, image: s.image }));
  const results = (shape?.results ?? []).map((r) => ({ name: r.name, type: r.type }));
  const runLabel = run.kind === 'CustomRun' ? 'tekton.dev/customRun' : 'tekton.dev/pipelineRun';
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'TaskRun',
    metadata: {
      name,
      namespace: run.metadata?.namespace,
      labels: {
        ...(shape?.metadata?.labels ?? {}),
        [LABEL_MANAGED]: 'pipod', [runLabel]: runName, 'tekton.dev/pipelineTask': dnsLabel([task]), [LABEL_RUN_NAME]: runName,
        ...(run.metadata?.uid ? { [LABEL_RUN_UID]: run.metadata.uid } : {}),
      },
      annotations: { ...(shape?.metadata?.annotations ?? {}), 'pipod.dev/pod': pod, 'pipod.dev/pipeline-task': task },
      ownerReferences: [ownerReference(run, false)],
    } as KObject['metadata'],
    spec: {
      managedBy: MANAGED_BY,
      taskSpec: { description: `Task ${task} of ${runName}, run by pipod inside pod ${pod}`, steps, ...(results.length > 0 ? { results } : {}) },
    },
  };
}

/** The task shapes a run pod records in its annotation; undefined when missing or unreadable. */
export function parseShapes(s: string | undefined): Record<string, TaskShape> | undefined {
  if (!s) return undefined;
  try {
    return JSON.parse(s) as Record<string, TaskShape>;
  } catch {
    return undefined;
  }
}
