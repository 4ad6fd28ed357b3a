/**
 * `pipod doctor`: checks every prerequisite of a runtime and prints one line
 * per check with the fix; exit 1 when a needed one fails.
 */
import type { Argv, CommandModule } from 'yargs';
import { DOCTOR_RUNTIMES, type DoctorRuntime, formatCheck, healthy, runChecks, systemDeps } from '../doctor/index.ts';

interface DoctorArgs {
  readonly runtime: DoctorRuntime;
  readonly output: 'text' | 'json';
  readonly kubeconfig?: string;
  readonly namespace?: string;
  readonly 'runtime-image'?: string;
  readonly 'start-pod': boolean;
}

/** The `doctor` command. */
export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'check this machine (or the cluster) can run pipelines, with the fix for each problem',
  builder: (y) => y
    .option('runtime', { choices: DOCTOR_RUNTIMES, default: 'podman' as const, describe: 'the runtime to check' })
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'one line per check, or one JSON object' })
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (kubernetes runtime)' })
    .option('namespace', { alias: 'n', type: 'string', describe: 'namespace runs go to (kubernetes runtime)' })
    .option('runtime-image', { type: 'string', describe: 'image carrying node and the pipod entrypoint' })
    .option('start-pod', { type: 'boolean', default: true, describe: 'podman: also create, start and remove an empty pod' })
    .example('$0 doctor', 'check podman, its OCI runtime, cgroups, the pause image, the network and the images')
    .example('$0 doctor --runtime kubernetes --kubeconfig ~/.kube/config', 'check the kubeconfig, the cluster, the namespace and the runtime image on the nodes')
    .example('$0 doctor -o json', 'the same as JSON: {runtime, ok, checks: [{id, status, detail, fix}]}') as unknown as Argv<DoctorArgs>,
  handler: async (a) => {
    const checks = await runChecks(a.runtime, systemDeps(), {
      startPod: a['start-pod'],
      ...(a.kubeconfig !== undefined ? { kubeconfig: a.kubeconfig } : {}),
      ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
      ...(a['runtime-image'] !== undefined ? { runtimeImage: a['runtime-image'] } : {}),
    });
    const good = healthy(checks);
    if (a.output === 'json') {
      process.stdout.write(`${JSON.stringify({ runtime: a.runtime, ok: good, checks })}\n`);
    } else {
      for (const c of checks) process.stdout.write(`${formatCheck(c)}\n`);
      const failed = checks.filter((c) => c.status === 'fail').length;
      process.stdout.write(good ? `${a.runtime}: ready\n` : `${a.runtime}: ${failed} check${failed === 1 ? '' : 's'} failed\n`);
    }
    process.exitCode = good ? 0 : 1;
  },
};
