/**
 * File primitives of the in-pod protocol: atomic writes, heartbeats, and the
 * `Waiter` that wakes on inotify events instead of polling.
 */
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';

let tmpCounter = 0;

/**
 * Writes a file under a temporary name and renames it into place, so a reader never sees half of it.
 * The temporary file is created exclusively (O_EXCL never follows a symlink): the supervisor also
 * writes into directories a task can write, and a link planted there must not redirect the write;
 * the random part keeps a task from making every name taken (node:crypto would cost each wrapper
 * about 0.4 MiB).
 */
export function writeAtomic(path: string, data: string | Buffer, mode?: number): void {
  for (let tries = 0; ; tries++) {
    const tmp = `${dirname(path)}/.${basename(path)}.${process.pid}.${++tmpCounter}.${Math.random().toString(36).slice(2, 8)}.tmp`;
    try {
      fs.writeFileSync(tmp, data, { flag: 'wx', ...(mode === undefined ? {} : { mode }) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && tries < 10) continue;
      throw e;
    }
    if (mode !== undefined) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, path);
    return;
  }
}

/** Writes a JSON document atomically. */
export function writeJson(path: string, value: unknown): void {
  writeAtomic(path, `${JSON.stringify(value)}\n`);
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** What `readRegular` found. */
export type RegularRead =
  | { readonly kind: 'ok'; readonly text: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly why: string };

/**
 * Reads a regular file without following a symlink at its name and without
 * blocking on a FIFO: files a container can write are read this way, so a
 * planted symlink never makes the reader read someone else's file and a FIFO
 * never hangs it. `maxBytes` bounds what is read.
 */
export function readRegular(path: string, maxBytes = Number.MAX_SAFE_INTEGER): RegularRead {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', why: 'is a symbolic link' };
    return { kind: 'refused', why: `cannot be read (${code ?? 'error'})` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'refused', why: 'is not a regular file' };
    if (st.size > maxBytes) return { kind: 'refused', why: `is larger than ${maxBytes} bytes` };
    return { kind: 'ok', text: fs.readFileSync(fd, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a JSON document, undefined when absent (or not a regular file); at most `maxBytes`. */
export function readJson<T>(path: string, maxBytes?: number): T | undefined {
  const r = readRegular(path, maxBytes);
  return r.kind === 'ok' ? (JSON.parse(r.text) as T) : undefined;
}

/** Reads a text file, undefined when absent. */
export function readText(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A directory below a trusted root held open, reached without following any
 * symlink below the root, so files a task may rearrange (its step
 * directories) cannot point the supervisor at another task's files. `path`
 * names the directory itself (through /proc/self/fd) until `close`.
 */
export interface PinnedDir {
  readonly path: string;
  close(): void;
}

/**
 * Opens `parts` below `root` one at a time with O_NOFOLLOW. With `create`, a
 * missing part is made (mode 0777) and a part that is not a directory is
 * replaced; without it such a part gives undefined.
 */
export function pinDir(root: string, parts: readonly string[], create = false): PinnedDir | undefined {
  const open = (p: string): number => fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let fd: number;
  try {
    // The root is trusted (and may itself be a /proc/self/fd link of a pinned directory).
    fd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
  } catch {
    return undefined;
  }
  const at = (n: number): string => `/proc/self/fd/${n}`;
  for (const part of parts) {
    const child = `${at(fd)}/${part}`;
    let next: number | undefined;
    try {
      next = open(child);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (create && (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR')) {
        try {
          if (code !== 'ENOENT') fs.rmSync(child, { force: true });
          fs.mkdirSync(child, 0o777);
          fs.chmodSync(child, 0o777);
          next = open(child);
        } catch {
          next = undefined;
        }
      }
    }
    fs.closeSync(fd);
    if (next === undefined) return undefined;
    fd = next;
  }
  const held = fd;
  return { path: at(held), close: () => fs.closeSync(held) };
}

/** Runs `f` on a pinned directory and closes it; undefined when it cannot be pinned. */
export function inPinnedDir<T>(root: string, parts: readonly string[], f: (dir: string) => T, create = false): T | undefined {
  const d = pinDir(root, parts, create);
  if (d === undefined) return undefined;
  try {
    return f(d.path);
  } finally {
    d.close();
  }
}

/**
 * Empties a directory (given as a trusted or pinned path) without following
 * symlinks: files and links are unlinked, sub-directories pinned and emptied
 * before they are removed.
 */
export function emptyDir(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const p = `${dir}/${n}`;
    try {
      fs.unlinkSync(p);
      continue;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EPERM') continue;
    }
    try {
      inPinnedDir(dir, [n], emptyDir);
      fs.rmdirSync(p);
    } catch {
      // Best effort: what is left is the task's own mess, in its own directory.
    }
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
