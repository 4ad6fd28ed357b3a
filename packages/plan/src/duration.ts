/**
 * Go's `time.ParseDuration`, the syntax of every Tekton timeout, once for the
 * builder, the controller and the cli: an optional sign, then one or more
 * decimal numbers (`1`, `1.5`, `.5`, `5.`) each followed by a unit (`ns`,
 * `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone needs no unit. No spaces.
 */

/** Nanoseconds per unit, as Go's unitMap. */
const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n], ['us', 1_000n], ['µs', 1_000n], ['μs', 1_000n], ['ms', 1_000_000n],
  ['s', 1_000_000_000n], ['m', 60_000_000_000n], ['h', 3_600_000_000_000n],
]);

/** Go's Duration is an int64 of nanoseconds: ±2^63 bounds what parses. */
const MAX_NS = 1n << 63n;

const NUMBER = /^(\d*)(?:\.(\d*))?/;
const UNIT = /^[^\d.]+/;

function nanoseconds(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    const n = NUMBER.exec(s);
    const whole = n?.[1] ?? '';
    const frac = n?.[2] ?? '';
    if (whole === '' && frac === '') return undefined;
    s = s.slice(n?.[0].length ?? 0);
    const u = UNIT.exec(s)?.[0];
    const unit = u === undefined ? undefined : UNIT_NS.get(u);
    if (u === undefined || unit === undefined) return undefined;
    s = s.slice(u.length);
    // Like Go: the whole part exactly, the fraction through a float, truncated to whole nanoseconds.
    const fracNs = frac === '' ? 0n : BigInt(Math.trunc(Number(`0.${frac}`) * Number(unit)));
    total += BigInt(whole === '' ? 0 : whole) * unit + fracNs;
    if (total > MAX_NS) return undefined;
  }
  if (!neg && total === MAX_NS) return undefined;
  return neg ? -total : total;
}

/**
 * Parses a Go duration into milliseconds exactly as Go's `time.ParseDuration`
 * accepts it (negative durations included); undefined when Go would return an
 * error. Sub-millisecond parts round away from zero, so a duration that is not
 * zero never reads as `0` (Tekton's "no timeout").
 */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const ns = nanoseconds(text);
  if (ns === undefined) return undefined;
  const abs = ns < 0n ? -ns : ns;
  const ms = Number((abs + 999_999n) / 1_000_000n);
  return ns < 0n ? -ms : ms;
}

/**
 * Parses a timeout: a Go duration that is not negative (Tekton rejects
 * negative timeouts), in milliseconds; `0` means no timeout. Undefined when
 * malformed or negative.
 */
export function parseDuration(text: unknown): number | undefined {
  const ms = parseGoDuration(text);
  return ms === undefined || ms < 0 ? undefined : ms;
}
