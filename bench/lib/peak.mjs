// pipod's own account of what its one pod needs: the builder's peak
// concurrent requests (planPeakRequests over the plan and the Pod as built),
// next to the requests as written (every container summed).
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PIPOD, ROOT, run } from './common.mjs';

let R;
async function resources() {
  if (R) return R;
  const work = mkdtempSync(join(ROOT, '.cache', 'bench-peak-'));
  const out = join(work, 'resources.mjs');
  await build({ stdin: { contents: "export * from '@pipod/podbuilder/resources';", resolveDir: ROOT, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'warning' });
  R = await import(pathToFileURL(out).href);
  rmSync(work, { recursive: true, force: true });
  return R;
}

/** Peak vs summed cpu/memory requests for a Tekton YAML file, from `pipod build` (Pod and plan) and planPeakRequests. */
export async function plannedPeak(file, extra = []) {
  const R = await resources();
  const pod = await run(process.execPath, [PIPOD, 'build', '-f', file, '-o', 'json', ...extra]);
  const plan = await run(process.execPath, [PIPOD, 'build', '-f', file, '-o', 'json', '--plan', ...extra]);
  if (pod.code || plan.code) throw new Error(`pipod build failed: ${pod.stderr}${plan.stderr}`);
  const { explanation } = R.planPeakRequests(JSON.parse(pod.stdout), JSON.parse(plan.stdout));
  const out = {};
  for (const e of explanation.resources) if (e.resource === 'cpu' || e.resource === 'memory') out[e.resource] = { summed: e.asWritten, peak: e.podRequest };
  return { ...out, qos: explanation.qos, warnings: explanation.warnings };
}
