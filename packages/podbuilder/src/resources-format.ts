/** The human-readable table of a ResourceExplanation (`pipod build --explain-resources`). */
import { parseQuantity } from './resources-quantity.ts';
import type { ResourceExplanation } from './resources-types.ts';

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function ratio(asWritten: string, podRequest: string): string {
  const a = parseQuantity(asWritten);
  const b = parseQuantity(podRequest);
  if (b === 0n) return a === 0n ? '1.00x' : '-';
  // Two decimals without floating point surprises on huge values.
  const hundredths = (a * 100n + b / 2n) / b;
  return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')}x`;
}

/** Renders an explanation as plain-text tables. */
export function formatResourceExplanation(e: ResourceExplanation): string {
  const lines: string[] = [];
  lines.push(`Pod requests at peak concurrent demand (strategy: ${e.strategy}; QoS ${e.qos.before} → ${e.qos.after})`);
  lines.push('');
  const rows: string[][] = [['RESOURCE', 'AS WRITTEN', 'PEAK', 'POD REQUEST', 'RATIO', 'REACHED BY']];
  for (const r of e.resources) {
    const who = r.overlapping.length === 0 ? 'no task' : `${r.phase === 'finally' ? 'finally ' : ''}${r.overlapping.map((o) => `${o.task} (${o.demand})`).join(' ‖ ')}`;
    rows.push([r.resource, r.asWritten, r.peak, r.podRequest, ratio(r.asWritten, r.podRequest), `${who} + always ${r.always}`]);
  }
  lines.push(...table(rows));
  const notes = e.resources.flatMap((r) => [
    ...(r.rewritten ? [`${r.resource}: requested by ${r.placement.map((p) => `${p.container} ${p.request}`).join(', ') || 'nobody'}; every other container requests 0`] : []),
    ...r.notes.map((n) => `${r.resource}: ${n}`),
  ]);
  if (notes.length > 0) lines.push('', ...notes);
  const names = e.resources.map((r) => r.resource);
  if (e.tasks.length > 0) {
    lines.push('', 'Task demand = largest step + all sidecars:');
    lines.push(...table([
      ['TASK', 'PHASE', ...names.map((n) => n.toUpperCase()), 'AFTER'],
      ...e.tasks.map((t) => [t.name, t.phase, ...names.map((n) => t.demand[n] ?? '0'), t.dependsOn.join(',') || '-']),
    ]));
  }
  if (e.always.length > 0 || e.init.length > 0) {
    lines.push('', 'Live for the whole run (and init):');
    lines.push(...table([
      ['CONTAINER', 'ROLE', ...names.map((n) => n.toUpperCase())],
      ...[...e.always, ...e.init].map((c) => [c.container, c.role, ...names.map((n) => c.requests[n] ?? '0')]),
    ]));
  }
  if (e.warnings.length > 0) lines.push('', ...e.warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}
