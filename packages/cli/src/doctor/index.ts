/** `pipod doctor`'s checks, and the preflight `pipod run` makes before it starts a runtime. */
import { PipodError } from '@pipod/plan';
import { preflightChecks, type DoctorDeps } from './checks.ts';
import { systemDeps } from './system.ts';

export * from './checks.ts';
export { kubeProbe, runCommand, systemDeps } from './system.ts';

/**
 * Fails with the doctor's sentence and fix (error code `PREFLIGHT`) when the
 * runtime cannot start any pod, before the runtime is asked to; only cheap
 * checks, and none for kubernetes (the cluster answers for itself).
 */
export async function preflight(runtime: string, deps: DoctorDeps = systemDeps()): Promise<void> {
  if (runtime !== 'podman') return;
  const failed = (await preflightChecks(deps)).filter((c) => c.status === 'fail');
  if (failed.length === 0) return;
  const lines = failed.map((c) => `${c.detail} — fix: ${c.fix ?? 'bash scripts/setup.sh'}`);
  throw new PipodError('PREFLIGHT', `${lines.join('\n')}\n(run \`npx pipod doctor\` for every check)`);
}
