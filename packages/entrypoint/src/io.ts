/**
 * File primitives of the in-pod protocol: atomic writes, heartbeats, and the
 * `Waiter` that wakes on inotify events instead of polling.
 */
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';

let tmpCounter = 0;

/** Writes a file under a temporary name and renames it into place, so a reader never sees half of it. */
export function writeAtomic(path: string, data: string | Buffer, mode?: number): void {
  const tmp = `${dirname(path)}/.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`;
  fs.writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
  if (mode !== undefined) fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, path);
}

/** Writes a JSON document atomically. */
export function writeJson(path: string, value: unknown): void {
  writeAtomic(path, `${JSON.stringify(value)}\n`);
}

/** Reads a JSON document, undefined when absent. */
export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as T;
}

/** Reads a text file, undefined when absent. */
export function readText(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** True when the path exists. */
export function exists(path: string): boolean {
  return fs.existsSync(path);
}

/** Creates a directory and its parents (no error when it exists). */
export function mkdirp(path: string, mode?: number): void {
  fs.mkdirSync(path, { recursive: true });
  if (mode !== undefined) {
    try {
      fs.chmodSync(path, mode);
    } catch {
      // Not ours to change (another user's directory); the protocol still works when writable.
    }
  }
}

/** Updates a liveness file's mtime, creating it when missing. */
export function touch(path: string): void {
  const now = new Date();
  try {
    fs.utimesSync(path, now, now);
  } catch {
    try {
      writeAtomic(path, '');
    } catch {
      // The volume may be going away at the end of the run; liveness is best effort.
    }
  }
}

/** Milliseconds since the file was last touched, undefined when absent. */
export function ageMs(path: string, now: number): number | undefined {
  try {
    return now - fs.statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Time as the runtime sees it, injectable for tests of pure logic. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Undoes a timer. */
export type CancelTimer = () => void;

/** Timers as the supervisor uses them, injectable so a fake clock can drive a whole run in tests. */
export interface Timers {
  /** Calls `f` once, `ms` from now. */
  after(ms: number, f: () => void): CancelTimer;
  /** Calls `f` every `ms`. */
  every(ms: number, f: () => void): CancelTimer;
}

/** Node's timers. */
export const systemTimers: Timers = {
  after(ms, f) {
    const t = setTimeout(f, ms);
    return () => clearTimeout(t);
  },
  every(ms, f) {
    const t = setInterval(f, ms);
    return () => clearInterval(t);
  },
};

/** A pending wait: resolved once `check` returns a value. */
interface Pending<T> {
  readonly match: (name: string) => boolean;
  readonly check: () => T | undefined;
  readonly resolve: (v: T) => void;
}

/** Waits for files to appear, woken by fs.watch (inotify) on their directories. */
export interface Waiter {
  /**
   * Resolves with the first non-undefined result of `check`, which is re-run
   * whenever a file whose name passes `match` changes in one of `dirs`.
   */
  until<T>(dirs: readonly string[], match: (name: string) => boolean, check: () => T | undefined): Promise<T>;
  /** Resolves when any of the paths exists; with the one that does. */
  anyOf(paths: readonly string[]): Promise<string>;
  /** Re-runs every pending check now (slow liveness timers; never the handoff path). */
  recheckAll(): void;
  /** Stops watching. */
  close(): void;
}

/**
 * The inotify-backed waiter. One watcher per directory is shared by every
 * wait on it; a slow safety sweep only covers lost events (queue overflow),
 * the handoff itself is event-driven.
 */
export class FsWaiter implements Waiter {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly pending = new Set<Pending<unknown>>();
  private readonly sweep: ReturnType<typeof setInterval>;

  constructor(safetyMs = 2000) {
    this.sweep = setInterval(() => this.recheck(undefined), safetyMs);
    this.sweep.unref();
  }

  until<T>(dirs: readonly string[], match: (name: string) => boolean, check: () => T | undefined): Promise<T> {
    for (const d of dirs) this.watch(d);
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve) => {
      const p: Pending<T> = { match, check, resolve };
      this.pending.add(p as Pending<unknown>);
      // The file may have appeared between the first check and the watch taking effect.
      this.recheckOne(p as Pending<unknown>);
    });
  }

  anyOf(paths: readonly string[]): Promise<string> {
    const dirs = [...new Set(paths.map((p) => dirname(p)))];
    const names = new Set(paths.map((p) => basename(p)));
    return this.until(dirs, (n) => names.has(n), () => paths.find((p) => fs.existsSync(p)));
  }

  recheckAll(): void {
    this.recheck(undefined);
  }

  close(): void {
    clearInterval(this.sweep);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private watch(dir: string): void {
    if (this.watchers.has(dir)) return;
    const w = fs.watch(dir, { persistent: false }, (_event, filename) => this.recheck(filename === null ? undefined : String(filename)));
    w.on('error', () => {
      // The directory went away (end of run); the safety sweep still resolves waits by existence.
      this.watchers.delete(dir);
    });
    this.watchers.set(dir, w);
  }

  private recheck(name: string | undefined): void {
    for (const p of [...this.pending]) {
      if (name === undefined || p.match(name)) this.recheckOne(p);
    }
  }

  private recheckOne(p: Pending<unknown>): void {
    if (!this.pending.has(p)) return;
    let v: unknown;
    try {
      v = p.check();
    } catch {
      return;
    }
    if (v !== undefined) {
      this.pending.delete(p);
      p.resolve(v);
    }
  }
}

/** A promise that resolves after `ms` (the timer does not keep the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
