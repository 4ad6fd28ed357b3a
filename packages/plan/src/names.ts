/**
 * Deterministic DNS-1123 names for containers and ids derived from task and
 * step names, shortened with a stable hash suffix when too long.
 */
import { createHash } from 'node:crypto';

/** Kubernetes' limit for a DNS-1123 label (container names). */
export const MAX_LABEL = 63;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True when `s` is a DNS-1123 label. */
export function isDnsLabel(s: string): boolean {
  return s.length <= MAX_LABEL && LABEL.test(s);
}

/** A short stable hash of a string. */
export function shortHash(s: string, len = 8): string {
  return createHash('sha256').update(s).digest('hex').slice(0, len);
}

/**
 * Joins parts into a DNS-1123 label: lowercased, invalid characters become
 * `-`; when the result is too long or had to change, a hash of the original
 * keeps it unique.
 */
export function dnsLabel(parts: readonly string[], max = MAX_LABEL): string {
  const original = parts.join('-');
  let s = original.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+$/g, '').replace(/^-+/g, '');
  if (s === '') s = 'x';
  const changed = s !== original;
  if (s.length <= max && !changed) return s;
  if (s.length <= max && changed && isDnsLabel(s)) {
    // Lowercasing or replacing can make two names collide; the hash keeps them apart.
    const suffix = `-${shortHash(original)}`;
    return s.length + suffix.length <= max ? s + suffix : s.slice(0, max - suffix.length).replace(/-+$/, '') + suffix;
  }
  const suffix = `-${shortHash(original)}`;
  return s.slice(0, max - suffix.length).replace(/-+$/, '') + suffix;
}
