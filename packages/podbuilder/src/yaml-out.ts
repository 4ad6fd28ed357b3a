/**
 * A small YAML writer for JSON-shaped data (what a Pod is): block style,
 * sorted keys, no anchors. Strings that could mean anything else to a YAML
 * 1.1 or 1.2 reader (numbers, booleans, null, dates, comments, indicators)
 * are written double-quoted with JSON escapes, which YAML reads the same.
 * It exists because the `yaml` package's writer took half a second on the
 * Pod of a 1000-task pipeline; tests check that `yaml` parses every output
 * back to the input.
 */

// A leading dot only before a letter or slash: YAML 1.1 reads .5 and even ._ as floats.
const PLAIN = /^([A-Za-z_/]|\.[A-Za-z/])[A-Za-z0-9_/.@+=:-]*$/;
const RESERVED = /^(y|n|yes|no|on|off|true|false|null|~|\.inf|\.nan|=|<<)$/i;

// Quantities such as 100m, 2Gi, 1.5G: never a number, date or time in either YAML version.
const UNIT = /^\d+(\.\d+)?[A-Za-z]+$/;
// Options such as --library-path or -v: a dash followed by a letter or another dash.
const FLAG = /^-[-A-Za-z][A-Za-z0-9_/.@+=:-]*$/;
const SINGLE_QUOTABLE = /^[\u0020-\u007e\u00a0-\u2027\u202a-\ufefe]*$/;

function scalarString(s: string): string {
  const plain = (PLAIN.test(s) || UNIT.test(s) || FLAG.test(s)) && !RESERVED.test(s) && !s.endsWith(':') && !s.includes('::');
  if (plain) return s;
  if (s !== '' && SINGLE_QUOTABLE.test(s)) return `'${s.replace(/'/g, "''")}'`;
  // JSON leaves DEL, C1 controls and the Unicode line separators raw; YAML wants them escaped.
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalar(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '.inf' : v < 0 ? '-.inf' : '.nan';
  if (typeof v === 'string') return scalarString(v);
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).every((k) => (v as Record<string, unknown>)[k] === undefined)) return '{}';
  return undefined;
}

function writeMap(o: Record<string, unknown>, indent: string, out: string[]): void {
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined) continue;
    const key = scalarString(k);
    const s = scalar(v);
    if (s !== undefined) {
      out.push(`${indent}${key}: ${s}`);
    } else if (Array.isArray(v)) {
      out.push(`${indent}${key}:`);
      writeSeq(v, `${indent}  `, out);
    } else {
      out.push(`${indent}${key}:`);
      writeMap(v as Record<string, unknown>, `${indent}  `, out);
    }
  }
}

function writeSeq(a: readonly unknown[], indent: string, out: string[]): void {
  for (const v of a) {
    const s = scalar(v === undefined ? null : v);
    if (s !== undefined) {
      out.push(`${indent}- ${s}`);
    } else if (Array.isArray(v)) {
      out.push(`${indent}-`);
      writeSeq(v, `${indent}  `, out);
    } else {
      const start = out.length;
      writeMap(v as Record<string, unknown>, `${indent}  `, out);
      out[start] = `${indent}- ${(out[start] ?? '').slice(indent.length + 2)}`;
    }
  }
}

/** Writes JSON-shaped data as block YAML with sorted keys; same value, same bytes. */
export function writeYaml(v: unknown): string {
  const s = scalar(v);
  if (s !== undefined) return `${s}\n`;
  const out: string[] = [];
  if (Array.isArray(v)) writeSeq(v, '', out);
  else writeMap(v as Record<string, unknown>, '', out);
  return `${out.join('\n')}\n`;
}
