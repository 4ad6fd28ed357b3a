/**
 * Reading `podman logs --timestamps` output, and making a followed log
 * complete: a follower on a loaded host can lag or be stopped before it read
 * everything, so at the end of a run the whole log is read once more and
 * only the lines the follower did not deliver are added.
 */

/** One line of `podman logs -t` output, split. */
export interface TimedLine {
  /** The container name as podman printed it (only when following several). */
  readonly name?: string;
  /** RFC 3339 time the container wrote the line. */
  readonly time?: string;
  readonly text: string;
}

const TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))(?: |$)/;

/** Splits a line of `podman logs -t` (`[name ]time text`); `named` when podman prefixes the container name (several containers). */
export function parseTimedLine(line: string, named: boolean): TimedLine {
  let rest = line;
  let name: string | undefined;
  if (named) {
    const sp = rest.indexOf(' ');
    if (sp <= 0) return { text: rest };
    name = rest.slice(0, sp);
    rest = rest.slice(sp + 1);
  }
  const m = TIME.exec(rest);
  if (m === null || m[1] === undefined) return { ...(name !== undefined ? { name } : {}), text: rest };
  return { ...(name !== undefined ? { name } : {}), time: m[1], text: rest.slice(m[0].length) };
}

/** Counts of lines delivered so far, by a key such as `container/stream`. */
export class DeliveredCounts {
  private readonly counts = new Map<string, number>();

  /** Notes one delivered line. */
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Lines delivered under the key. */
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** The lines of a complete log (oldest first) that were not delivered yet: those past the count. */
  missing<T>(key: string, complete: readonly T[]): T[] {
    const n = this.get(key);
    return n >= complete.length ? [] : complete.slice(n);
  }
}
