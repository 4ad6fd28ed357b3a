/**
 * One ordered stream of a run's events and step output. Events come from the
 * supervisor's log and output from the steps' logs, read by two followers
 * that lag each other; a container's timestamps are taken when the engine
 * reads the pipe, so they cannot order the two either. Causality can: a step
 * wrote all its output before the supervisor saw it end. So a `step.finished`
 * is handed on only once that step's output has been, as far as the engine
 * can count what the container wrote; when the follower is still behind
 * after a short wait, the container's log is read whole and the missing lines
 * are handed on first (read again for a few seconds while the engine's own
 * log is behind as well, which a loaded machine shows). The other way round, a step's output can arrive
 * before the supervisor's word that the step started: it is held until then.
 * Lines are counted per container and stream, so a line is never handed on
 * twice.
 */
import type { RunEvent } from '@pipod/plan';
import type { LogLine } from '../runtime/types.ts';
import { inWrittenOrder } from '../render/report.ts';

/** What the engine can tell about a container's output without following it. */
export interface OutputSource {
  /** Lines the container has written so far (all streams), when the engine can count them. */
  written(container: string): number | undefined;
  /** The container's whole output so far, oldest first per stream. */
  read(container: string): Promise<readonly LogLine[]>;
}

/** Where ordered items go. */
export interface OrderedSink {
  onEvent(e: RunEvent): void;
  onLog(l: LogLine): void;
}

/** How long a step's end may wait for its output to arrive through the follower before its log is read whole. */
export const CATCH_UP_WAIT_MS = 500;
/** How long a step's end may wait in all: the engine writes its log after the container's pipe, and under load it lags by seconds. */
export const CATCH_UP_MAX_MS = 5000;
const POLL_MS = 20;
const REREAD_MS = 250;

const keyOf = (l: LogLine): string => `${l.container}/${l.stream}`;

/** Puts events and step output in causal order (see the module comment). */
export class OrderedOutput {
  private readonly delivered = new Map<string, number>();
  private readonly followed = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  /** Items in the chain not handed on yet: while there are, later items queue behind them. */
  private pending = 0;
  /** The container whose step's end waits for its output: its lines go on at once. */
  private waitingFor: string | undefined;
  private closed = false;
  /** Step containers whose step started and did not end yet, and those that ever started. */
  private readonly open = new Set<string>();
  private readonly everStarted = new Set<string>();
  /** Lines given while earlier items were queued, per container, until handed on. */
  private readonly queued = new Map<string, LogLine[]>();
  /** Lines of step containers that came before their step's start. */
  private readonly early = new Map<string, LogLine[]>();

  constructor(
    private readonly sink: OrderedSink,
    private readonly source?: OutputSource,
    private readonly waitMs = CATCH_UP_WAIT_MS,
    /** The containers that run steps (their lines wait for a start); others (sidecars) go on at once. */
    private readonly stepContainers: ReadonlySet<string> = new Set(),
    private readonly maxMs = Math.max(waitMs, CATCH_UP_MAX_MS),
  ) {}

  /** A line from the follower: handed on unless a read already did. */
  log(l: LogLine): void {
    if (this.closed) return;
    const k = keyOf(l);
    const i = this.followed.get(k) ?? 0;
    this.followed.set(k, i + 1);
    if (i < (this.delivered.get(k) ?? 0)) return;
    this.delivered.set(k, i + 1);
    if (this.pending === 0 || l.container === this.waitingFor) {
      this.emitLog(l);
      return;
    }
    // Queued behind earlier items; the step's end, when it comes first, takes the line along (see endOf).
    const q = this.queued.get(l.container);
    if (q === undefined) this.queued.set(l.container, [l]);
    else q.push(l);
    this.enqueue(() => {
      const list = this.queued.get(l.container);
      const at = list?.indexOf(l) ?? -1;
      if (at < 0) return;
      list?.splice(at, 1);
      this.emitLog(l);
    });
  }

  /**
   * Hands on the lines of a container still queued behind its step's end,
   * as many as the step wrote (`want`; all when unknown): they came from
   * the follower before the end was handed on, so the step wrote them.
   */
  private endOf(container: string, want: number | undefined): void {
    const list = this.queued.get(container);
    if (list === undefined || list.length === 0) return;
    let n = want === undefined ? list.length : Math.max(0, want - (this.count(container) - list.length));
    while (n-- > 0 && list.length > 0) this.emitLog(list.shift() as LogLine);
  }

  /** Hands a line on, or holds it when its step has not started (again) yet. */
  private emitLog(l: LogLine): void {
    const c = l.container;
    const hold = this.stepContainers.has(c) && !this.open.has(c) && (this.source !== undefined || !this.everStarted.has(c));
    if (!hold) {
      this.sink.onLog(l);
      return;
    }
    const list = this.early.get(c);
    if (list === undefined) this.early.set(c, [l]);
    else list.push(l);
  }

  private emitEvent(e: RunEvent): void {
    this.sink.onEvent(e);
    if (e.type === 'step.started') {
      this.open.add(e.container);
      this.everStarted.add(e.container);
      const held = this.early.get(e.container);
      this.early.delete(e.container);
      for (const l of held ?? []) this.sink.onLog(l);
    } else if (e.type === 'step.finished') this.open.delete(e.container);
  }

  /** Hands on every line still held (the run is over). */
  private flushEarly(): void {
    for (const list of this.early.values()) for (const l of list) this.sink.onLog(l);
    this.early.clear();
  }

  /** An event: handed on in order, a step's end after its output. */
  event(e: RunEvent): void {
    const gated = e.type === 'step.finished' && this.source !== undefined && !this.closed;
    if (!gated && this.pending === 0) {
      this.emitEvent(e);
      return;
    }
    this.enqueue(async () => {
      if (e.type === 'step.finished') this.endOf(e.container, gated ? await this.catchUp(e.container) : undefined);
      this.emitEvent(e);
    });
  }

  private enqueue(f: () => void | Promise<void>): void {
    this.pending++;
    this.chain = this.chain.then(f).finally(() => { this.pending--; });
  }

  /** Settles once every event given so far was handed on. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Hands on what a complete read has that was not handed on yet, then ignores the follower. */
  complete(lines: readonly LogLine[]): void {
    if (this.closed) return;
    this.addMissing(lines);
    this.close();
  }

  /** Hands on what is held and ignores the follower from now on. */
  close(): void {
    if (!this.closed) this.flushEarly();
    this.closed = true;
  }

  private count(container: string): number {
    return (this.delivered.get(`${container}/stdout`) ?? 0) + (this.delivered.get(`${container}/stderr`) ?? 0);
  }

  /** Waits (bounded) until the follower or a read has given every line the step wrote; that count, when the engine knows it. */
  private async catchUp(container: string): Promise<number | undefined> {
    const source = this.source;
    if (source === undefined) return undefined;
    const want = source.written(container);
    if (want === undefined) return undefined;
    this.waitingFor = container;
    try {
      for (let waited = 0; this.count(container) < want && waited < this.waitMs; waited += POLL_MS) await new Promise((r) => setTimeout(r, POLL_MS));
      // The engine's own log can lag behind too: read it again until it holds what the wrapper counted.
      for (let waited = this.waitMs; !this.closed; waited += REREAD_MS) {
        if (this.count(container) >= want) break;
        const lines = await source.read(container).catch(() => []);
        if (this.closed) break;
        this.addMissing(lines);
        if (this.count(container) >= want || waited >= this.maxMs) break;
        await new Promise((r) => setTimeout(r, REREAD_MS));
      }
      return want;
    } finally {
      this.waitingFor = undefined;
    }
  }

  private addMissing(lines: readonly LogLine[]): void {
    const byKey = new Map<string, LogLine[]>();
    for (const l of lines) {
      const k = keyOf(l);
      const list = byKey.get(k);
      if (list === undefined) byKey.set(k, [l]);
      else list.push(l);
    }
    const missing: LogLine[] = [];
    for (const [k, list] of byKey) {
      const have = this.delivered.get(k) ?? 0;
      if (list.length > have) {
        missing.push(...list.slice(have));
        this.delivered.set(k, list.length);
      }
    }
    for (const l of inWrittenOrder(missing)) this.emitLog(l);
  }
}
