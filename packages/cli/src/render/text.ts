/** Small text helpers shared by the renderers: colours, durations, truncation. */
import picocolors from 'picocolors';

/** The colour functions the renderers use; all identity when colour is off. */
export type Colors = ReturnType<typeof picocolors.createColors>;

/** Colours on or off (NO_COLOR, FORCE_COLOR and a TTY decide by default, through picocolors). */
export function colors(enabled?: boolean): Colors {
  return picocolors.createColors(enabled ?? picocolors.isColorSupported);
}

/** A duration as people read it: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** A byte count as people read it: `512 B`, `4.0 KiB`, `10.0 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A value cut to `max` characters on one line, with how much was left out; `where` says where to read it whole. */
export function truncate(text: string, max: number, where?: string): string {
  const flat = text.includes('\n') ? text.replace(/\n/g, '\\n') : text;
  if (flat.length <= max) return flat;
  const bytes = Buffer.byteLength(text, 'utf8');
  return `${flat.slice(0, max)}… (${formatBytes(bytes)} in all${where !== undefined ? `; full value: ${where}` : ''})`;
}

/** Milliseconds between two RFC 3339 times, when both are there. */
export function between(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const d = Date.parse(to) - Date.parse(from);
  return Number.isFinite(d) ? d : undefined;
}
