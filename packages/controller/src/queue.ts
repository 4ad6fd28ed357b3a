/**
 * The reconciler's work queue: each key is handled by at most one worker at
 * a time, a key queued while it is being handled runs once more afterwards,
 * and a delayed re-queue keeps only the soonest timer per key.
 */

/** A deduplicating work queue with a fixed number of workers. */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { readonly timer: NodeJS.Timeout; readonly at: number }>();
  private workers = 0;
  private stopped = false;

  constructor(private readonly handle: (key: string) => Promise<void>, private readonly maxWorkers = 4) {}

  /** Queues a key (deduplicated; re-run after an in-flight pass). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues a key after `ms`; of several timers asked for one key only the soonest is kept (a far one must not swallow quick ones). */
  addAfter(key: string, ms: number): void {
    const at = Date.now() + ms;
    const prev = this.timers.get(key);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { timer, at });
  }

  /** Drops every timer and takes no more work. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }

  private pump(): void {
    while (this.workers < this.maxWorkers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.inFlight.add(key);
      this.workers++;
      void this.handle(key).finally(() => {
        this.workers--;
        this.inFlight.delete(key);
        if (this.dirty.delete(key)) this.add(key);
        this.pump();
      });
    }
  }
}
