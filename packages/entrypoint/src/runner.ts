/**
 * Starting and stopping user processes: spawned directly (no shell, so images
 * without one work; PATH lookup is libuv's execvp), output teed to our own
 * stdout/stderr and to a log file. A stop reaches the whole process tree, as
 * Tekton's process-group kill does; the tree is found in /proc because Node
 * can only put a child in a new *session* (setsid), which costs the handoff
 * several milliseconds on hosts with scheduler autogroups.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

/** How a process ended. */
export type ProcessEnd =
  | { readonly kind: 'exited'; readonly exitCode: number; readonly signal?: string }
  | { readonly kind: 'startFailed'; readonly message: string };

/** A started process. */
export interface RunningProcess {
  readonly pid: number | undefined;
  /** Sends a signal to the process and every descendant. */
  signal(sig: NodeJS.Signals): void;
  /**
   * After the process ended: SIGKILL what it left behind — processes seen in
   * its tree when it was signalled, and orphans re-parented to us (we are
   * PID 1 of the step's container) — as a container's end would.
   */
  reapLeftovers(): void;
  readonly ended: Promise<ProcessEnd>;
}

/** What to run. */
export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Append output here as well as to our own stdout/stderr. */
  readonly logFile?: string;
  /** Do not copy output to our own stdout/stderr (probes). */
  readonly quiet?: boolean;
}

/** Starts processes. */
export interface Runner {
  start(spec: SpawnSpec): RunningProcess;
}

/** Pid → parent pid of every process we can see. */
function processTable(): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; the ppid follows the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(n), Number(rest[1]));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** The pid and all its descendants. */
export function processTree(pid: number): number[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [p, pp] of table) {
    const list = children.get(pp) ?? [];
    list.push(p);
    children.set(pp, list);
  }
  const out: number[] = [pid];
  for (let i = 0; i < out.length; i++) for (const c of children.get(out[i] ?? -1) ?? []) out.push(c);
  return out;
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** Shell convention for a process killed by a signal. */
export function signalExitCode(sig: string): number {
  return 128 + (SIGNALS[sig] ?? 0);
}

/** A process that never started. */
function notStarted(message: string): RunningProcess {
  return { pid: undefined, signal: () => undefined, reapLeftovers: () => undefined, ended: Promise.resolve({ kind: 'startFailed', message }) };
}

/** Runs real processes with node:child_process. */
export const processRunner: Runner = {
  start(spec: SpawnSpec): RunningProcess {
    const [file, ...args] = spec.argv;
    if (file === undefined || file === '') {
      return notStarted('no command to run (empty command and no script)');
    }
    let log: number | undefined;
    if (spec.logFile !== undefined) {
      try {
        log = fs.openSync(spec.logFile, 'a');
      } catch {
        log = undefined;
      }
    }
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        env: spec.env,
        cwd: spec.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      // Node throws (rather than emitting 'error') for exec failures such as E2BIG.
      if (log !== undefined) fs.closeSync(log);
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'E2BIG' ? 'arguments and environment exceed the kernel limit (E2BIG: one value may be at most 128 KiB; pass large values through a script or a file)' : err.message;
      return notStarted(`cannot start "${file}": ${why}`);
    }
    // Every process ever seen in the tree: a child orphaned by its parent's death still gets the SIGKILL.
    const seen = new Set<number>();
    const tee = (chunk: Buffer, out: NodeJS.WriteStream): void => {
      if (!spec.quiet) out.write(chunk);
      if (log !== undefined) {
        try {
          fs.writeSync(log, chunk);
        } catch {
          // A full volume must not kill the step; its output still reaches our stdout.
        }
      }
    };
    child.stdout?.on('data', (c: Buffer) => tee(c, process.stdout));
    child.stderr?.on('data', (c: Buffer) => tee(c, process.stderr));
    const ended = new Promise<ProcessEnd>((resolve) => {
      let done = false;
      const finish = (end: ProcessEnd): void => {
        if (done) return;
        done = true;
        if (log !== undefined) fs.closeSync(log);
        resolve(end);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (child.pid === undefined) {
          const why = e.code === 'ENOENT' ? 'not found (checked PATH)' : e.code === 'EACCES' ? 'permission denied' : e.message;
          finish({ kind: 'startFailed', message: `cannot start "${file}": ${why}` });
        }
      });
      child.on('exit', (code, sig) => {
        const end: ProcessEnd = sig !== null ? { kind: 'exited', exitCode: signalExitCode(sig), signal: sig } : { kind: 'exited', exitCode: code ?? 1 };
        // Let buffered output drain, but never wait on a grandchild that kept the pipes open.
        let settled = false;
        const settle = (): void => {
          if (settled) return;
          settled = true;
          finish(end);
        };
        child.on('close', settle);
        setTimeout(settle, 50).unref();
      });
    });
    return {
      pid: child.pid,
      signal(sig: NodeJS.Signals): void {
        if (child.pid === undefined) return;
        for (const p of processTree(child.pid)) seen.add(p);
        for (const p of seen) {
          if (p === process.pid) continue;
          try {
            process.kill(p, sig);
          } catch {
            // Already gone.
          }
        }
      },
      reapLeftovers(): void {
        // Orphans are re-parented to PID 1 of the namespace, which we are only inside a container.
        const self = process.pid === 1 ? processTree(process.pid).slice(1) : [];
        for (const p of new Set([...seen, ...self])) {
          if (p === process.pid) continue;
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      },
      ended,
    };
  },
};
