/**
 * Step messages (why a step's process ended, e.g. a command that could not
 * be started) from the done files a run volume holds. The summary does not
 * carry them, so on podman, where the volume is a host directory, pipod reads
 * them before the run's files are removed.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { Layout, type DoneMessage } from '@pipod/plan';

/** Largest done file read: the container wrote it. */
const MAX_DONE_BYTES = 1024 * 1024;

/** A file a container wrote on the host: a regular file, no link followed, no FIFO waited on, bounded. */
function readOwnFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_DONE_BYTES) throw new Error(`${path} is not a small regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Container → the message of its last done file (the step's last end), when it has one. */
export function readStepMessages(volumeDir: string, containers: readonly string[]): Record<string, string> {
  const layout = new Layout(volumeDir);
  const out: Record<string, string> = {};
  for (const c of containers) {
    let names: string[];
    try {
      names = readdirSync(layout.outboxDir(c));
    } catch {
      continue;
    }
    const seqs = names.flatMap((n) => { const m = /^done-(\d+)\.json$/.exec(n); return m ? [Number(m[1])] : []; }).sort((a, b) => b - a);
    for (const seq of seqs) {
      try {
        const done = JSON.parse(readOwnFile(layout.doneFile(c, seq))) as DoneMessage;
        if (typeof done.message === 'string' && done.message !== '') out[c] = done.message;
        break;
      } catch { /* half-written: an earlier end is the last complete one */ }
    }
  }
  return out;
}
