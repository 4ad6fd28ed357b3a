/** Pipeline-level sidecars: one container each, for the whole run, compiled like any other container in the pipeline's scope. */
import type { PlanSidecar } from '@pipod/plan';
import { runVolumeMounts } from './container.ts';
import { type DocSink, viaField } from '../errors.ts';
import type { ContainerSpec } from '../model.ts';
import type { BuildOptions } from '../options.ts';
import { type PodContainers, compileContainer, planSidecar } from './container.ts';
import type { Scope } from './scope.ts';

/** Compiles the pipeline's sidecars; they see the pipeline's params and context, like a pipeline task's fields. */
export function compilePipelineSidecars(pod: PodContainers, options: BuildOptions, pd: DocSink, scope: Scope, sidecars: readonly ContainerSpec[], graceMs: number): PlanSidecar[] {
  return sidecars.map((s) => {
    const c = compileContainer(pod, options, s, {
      d: pd, scope, nameParts: ['sidecar', s.name], task: '', owner: `pipeline sidecar "${s.name}"`,
      mounts: (x, container) => {
        if (x.volumeMounts.length > 0) pd.error(viaField(x.path, 'volumeMounts'), 'a pipeline sidecar has no task volumes to mount');
        return runVolumeMounts({ container, kind: 'sidecar' });
      },
    });
    if (s.ports !== undefined) pod.sidecarPorts.push({ d: pd, phase: 'pipeline', sidecar: s.name, container: c.name, path: s.path, ports: s.ports });
    return planSidecar(s, c, graceMs);
  });
}
