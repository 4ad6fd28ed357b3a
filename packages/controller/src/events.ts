/**
 * Kubernetes Events on the runs pipod reconciles, so `kubectl describe
 * pipelinerun` shows what pipod did (pod created, started, failed, deleted;
 * run finished with its reason). Best effort: an Event that cannot be
 * written is logged, never fails a reconcile.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Kube, KObject } from './kube.ts';
import type { Logger } from './log.ts';

/** The reasons pipod records on a run. */
export type RunEventReason = 'PodCreated' | 'PodStarted' | 'PodFailed' | 'PodDeleted' | 'RunFinished' | 'RunFailed';

/** The component name Events carry (what `kubectl describe` shows under From). */
export const EVENT_COMPONENT = 'pipod-controller';

/** The core/v1 Event for one thing that happened to a run (pure; `now` and `suffix` make it deterministic in tests). */
export function runEvent(run: KObject, type: 'Normal' | 'Warning', reason: RunEventReason, message: string, now: Date, suffix: string, host?: string): CoreV1Event {
  const m = run.metadata ?? {};
  return {
    metadata: { name: `${m.name ?? 'run'}.${suffix}`, namespace: m.namespace },
    involvedObject: { apiVersion: run.apiVersion, kind: run.kind, name: m.name, namespace: m.namespace, uid: m.uid, ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}) },
    type, reason,
    // The API server caps an Event's message at 1 KiB.
    message: message.length > 1000 ? `${message.slice(0, 997)}...` : message,
    firstTimestamp: now, lastTimestamp: now, count: 1,
    source: { component: EVENT_COMPONENT, ...(host ? { host } : {}) },
    reportingComponent: EVENT_COMPONENT, reportingInstance: host ?? EVENT_COMPONENT,
  };
}

/** Writes run Events through the Kube layer. */
export class EventRecorder {
  constructor(private readonly kube: Kube, private readonly log: Logger, private readonly instance?: string) {}

  /** Records one Event on the run (never throws). */
  async record(run: KObject, type: 'Normal' | 'Warning', reason: RunEventReason, message: string): Promise<void> {
    const ns = run.metadata?.namespace;
    if (!ns) return;
    try {
      await this.kube.createEvent(ns, runEvent(run, type, reason, message, new Date(), `${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, this.instance));
    } catch (e) {
      this.log.log('warn', 'could not record an event', { run: `${ns}/${run.metadata?.name ?? ''}`, reason, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
