/**
 * The supervisor's event stream, read from the run pod's log: followed live
 * (each reconnection replays from the first line; the fold is deterministic,
 * so a replay rebuilds the same state) or read whole once the pod ended.
 */
import { SUPERVISOR_CONTAINER, type RunEvent } from '@pipod/plan';
import type { Kube } from './kube.ts';
import type { Logger } from './log.ts';
import { EMPTY_RUN, type RunState, applyEvent, foldEvents, parseEventLine } from './status.ts';

/** Callbacks of a follower. */
export interface FollowOptions {
  /** Events the caller already holds: a replay replaces its state only once it has caught up. */
  readonly seen: () => number;
  readonly onState: (s: RunState, last: RunEvent) => void;
  /** The stream ended before the summary (the caller should look at the pod again). */
  readonly onGap: () => void;
  /** True once the caller no longer wants events. */
  readonly closed: () => boolean;
  readonly log: Logger;
  /** The run, for logs. */
  readonly run: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Follows the supervisor's log until the summary arrives or `stop` is called; returns `stop`. */
export function followSupervisor(kube: Kube, namespace: string, pod: string, o: FollowOptions): () => void {
  let stopped = false;
  let current: { abort: () => void } | undefined;
  const loop = async (): Promise<void> => {
    while (!stopped && !o.closed()) {
      let local: RunState = EMPTY_RUN;
      const f = kube.followLog(namespace, pod, SUPERVISOR_CONTAINER, (line) => {
        const ev = parseEventLine(line);
        if (!ev) return;
        local = applyEvent(local, ev);
        if (local.events >= o.seen()) o.onState(local, ev);
      });
      current = f;
      try {
        await f.done;
      } catch (e) {
        // 400 while the container is still starting; 404 when the pod is gone (the reconcile notices).
        o.log.log('debug', 'log stream not available yet', { run: o.run, error: e instanceof Error ? e.message : String(e) });
      }
      if (local.summary || stopped) break;
      await sleep(1000);
      o.onGap();
    }
  };
  void loop();
  return () => {
    stopped = true;
    current?.abort();
  };
}

/** The state from the whole supervisor log of a pod (read once, after it ended). */
export async function readSupervisorLog(kube: Kube, namespace: string, pod: string): Promise<RunState> {
  const text = await kube.readLog(namespace, pod, SUPERVISOR_CONTAINER);
  return foldEvents(text.split('\n').map(parseEventLine).filter((e): e is RunEvent => e !== undefined));
}
