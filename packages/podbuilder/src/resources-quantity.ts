/**
 * Kubernetes resource quantities as exact integers. Every quantity is held
 * as a bigint count of nano-units (10^-9 of the resource's base unit), the
 * finest precision Kubernetes keeps: `100m` cpu is 100_000_000n, `1Ki` of
 * memory is 1_024_000_000_000n. Sums and maxima are therefore exact, whatever
 * mix of suffixes the user wrote.
 */
import { PipodError } from '@pipod/plan';

/** Nano-units per base unit. */
export const NANO = 1_000_000_000n;

/** A resource name → quantity in nano-units; absent means zero. */
export type Amounts = Readonly<Record<string, bigint>>;

/** A Kubernetes `ResourceList` as it appears in JSON/YAML (YAML may give plain numbers). */
export type ResourceList = Readonly<Record<string, string | number>>;

/** A validation problem with the field it concerns. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

/** A quantity string that Kubernetes would reject. */
export class QuantityError extends PipodError {
  constructor(readonly input: string, readonly reason: string) {
    super('E_QUANTITY', `invalid quantity "${input}": ${reason}`);
    this.name = 'QuantityError';
  }
}

const BINARY_SUFFIXES: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};

// Decimal SI suffixes as powers of ten; `n` and `u` are accepted by the API server's parser though its docs only list m..E.
const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

function pow10(e: number): bigint {
  return 10n ** BigInt(e);
}

/** Divides, rounding away from zero as Kubernetes does when a value is finer than nano. */
function divRoundUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d === 0n ? q : n > 0n ? q + 1n : q - 1n;
}

/**
 * Parses a Kubernetes quantity (`100m`, `0.5`, `1Gi`, `500M`, `1e3`, `2k`,
 * `.5`, `1.`) into nano-units; values finer than nano are rounded up, like the
 * API server does. Throws QuantityError on anything the API server rejects.
 */
export function parseQuantity(input: string | number): bigint {
  const text = typeof input === 'number' ? numberText(input) : input;
  const m = QUANTITY.exec(text);
  if (text === '' || !m) throw new QuantityError(text, 'empty');
  const [, sign = '', whole = '', frac, suffix = ''] = m;
  if (whole === '' && (frac === undefined || frac === '')) throw new QuantityError(text, 'expected a number such as 1, 0.5, 100m or 1Gi');
  const digits = whole + (frac ?? '');
  let mantissa = BigInt(digits === '' ? '0' : digits);
  let exp10 = -(frac ?? '').length;
  let binary = 1n;
  if (Object.hasOwn(BINARY_SUFFIXES, suffix)) {
    binary = BINARY_SUFFIXES[suffix] ?? 1n;
  } else if (Object.hasOwn(DECIMAL_SUFFIXES, suffix)) {
    exp10 += DECIMAL_SUFFIXES[suffix] ?? 0;
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    const e = Number(suffix.slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > 1000) throw new QuantityError(text, 'exponent out of range');
    exp10 += e;
  } else {
    throw new QuantityError(text, `unknown suffix "${suffix}" (use one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exponent>)`);
  }
  mantissa *= binary;
  // Scale to nano-units: value = mantissa * 10^exp10, nano = value * 10^9.
  const scale = exp10 + 9;
  const nano = scale >= 0 ? mantissa * pow10(scale) : divRoundUp(mantissa, pow10(-scale));
  return sign === '-' ? -nano : nano;
}

/** JSON numbers are quantities too (`cpu: 2` in YAML); write them without losing digits. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(String(n), 'not a finite number');
  return String(n).replace('e+', 'e');
}

/** True for resources counted in bytes, printed with binary suffixes when exact. */
export function isByteResource(name: string): boolean {
  return name === 'memory' || name === 'ephemeral-storage' || name === 'storage' || name.startsWith('hugepages-');
}

/**
 * True when Kubernetes lets requests be lower than limits for this resource:
 * native resources except hugepages. Extended resources (`nvidia.com/gpu`)
 * and hugepages must have request == limit and are allocated to the
 * container that asks for them, so they cannot be moved between containers.
 */
export function isOvercommittable(name: string): boolean {
  if (name.startsWith('hugepages-')) return false;
  const slash = name.indexOf('/');
  if (slash < 0) return true;
  const domain = name.slice(0, slash);
  return domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io');
}

const DECIMAL_OUT: readonly (readonly [number, string])[] = [
  [18, 'E'], [15, 'P'], [12, 'T'], [9, 'G'], [6, 'M'], [3, 'k'], [0, ''], [-3, 'm'], [-6, 'u'], [-9, 'n'],
];
const BINARY_OUT: readonly (readonly [bigint, string])[] = [
  [1n << 60n, 'Ei'], [1n << 50n, 'Pi'], [1n << 40n, 'Ti'], [1n << 30n, 'Gi'], [1n << 20n, 'Mi'], [1n << 10n, 'Ki'],
];

/**
 * Formats nano-units canonically: byte resources use the largest binary
 * suffix that divides the value exactly (`1536Mi`), everything else (and
 * bytes that are no whole multiple of 1Ki) the largest exact decimal suffix
 * (`1500m`, `2`, `500M`). The result parses back to the same value.
 */
export function formatQuantity(nano: bigint, resource = 'cpu'): string {
  if (nano === 0n) return '0';
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const sign = neg ? '-' : '';
  if (isByteResource(resource) && abs % NANO === 0n) {
    const bytes = abs / NANO;
    for (const [factor, suffix] of BINARY_OUT) {
      if (bytes >= factor && bytes % factor === 0n) return `${sign}${bytes / factor}${suffix}`;
    }
  }
  for (const [e, suffix] of DECIMAL_OUT) {
    const unit = pow10(e + 9);
    if (abs % unit === 0n) return `${sign}${abs / unit}${suffix}`;
  }
  return `${sign}${abs}n`;
}

/** Sum of two amount maps. */
export function addAmounts(a: Amounts, b: Amounts): Record<string, bigint> {
  const out: Record<string, bigint> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0n) + v;
  return out;
}

/** Per-resource maximum of two amount maps. */
export function maxAmounts(a: Amounts, b: Amounts): Record<string, bigint> {
  const out: Record<string, bigint> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0n) > v ? (out[k] ?? 0n) : v;
  return out;
}

/** Resource names in display order: cpu, memory, ephemeral-storage, then the rest alphabetically. */
export function sortResourceNames(names: Iterable<string>): string[] {
  const rank = (n: string): number => (n === 'cpu' ? 0 : n === 'memory' ? 1 : n === 'ephemeral-storage' ? 2 : 3);
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Formats an amount map as a Kubernetes ResourceList with sorted keys. */
export function formatAmounts(amounts: Amounts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of sortResourceNames(Object.keys(amounts))) out[name] = formatQuantity(amounts[name] ?? 0n, name);
  return out;
}

const QUALIFIED = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Why a name cannot be a container resource, or undefined when it can: the
 * standard names, `hugepages-<size>`, or a domain-prefixed extended resource
 * (`nvidia.com/gpu`), as the API server allows.
 */
export function resourceNameProblem(name: string): string | undefined {
  if (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage') return undefined;
  if (name.startsWith('hugepages-')) {
    try {
      if (parseQuantity(name.slice('hugepages-'.length)) > 0n) return undefined;
    } catch {
      // fall through to the message below
    }
    return `"${name}" is not a hugepages size such as hugepages-2Mi`;
  }
  if (name.length <= 253 && QUALIFIED.test(name) && !name.startsWith('requests.')) return undefined;
  return `unknown resource "${name}": use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed extended resource such as nvidia.com/gpu`;
}

/**
 * Parses a ResourceList, collecting every bad entry as a problem under
 * `path` (e.g. `spec.steps[0].computeResources.requests`) instead of stopping
 * at the first; negative values are problems too.
 */
export function parseResourceList(list: ResourceList | undefined, path: string): { readonly amounts: Record<string, bigint>; readonly problems: FieldProblem[] } {
  const amounts: Record<string, bigint> = {};
  const problems: FieldProblem[] = [];
  if (list === undefined || list === null) return { amounts, problems };
  if (typeof list !== 'object' || Array.isArray(list)) {
    problems.push({ path, message: 'must be a map of resource name to quantity' });
    return { amounts, problems };
  }
  for (const name of Object.keys(list).sort()) {
    const raw = list[name];
    const at = `${path}.${name}`;
    const nameProblem = resourceNameProblem(name);
    if (nameProblem !== undefined) {
      problems.push({ path: at, message: nameProblem });
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      problems.push({ path: at, message: 'must be a quantity such as "500m" or "1Gi"' });
      continue;
    }
    try {
      const v = parseQuantity(raw);
      if (v < 0n) problems.push({ path: at, message: `must not be negative, got "${raw}"` });
      else amounts[name] = v;
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      problems.push({ path: at, message: e.message });
    }
  }
  return { amounts, problems };
}
