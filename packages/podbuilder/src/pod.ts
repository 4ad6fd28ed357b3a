/**
 * Writes the Pod: init container, supervisor, one wrapped container per step
 * and sidecar, shared volumes, and the plan carried in env vars.
 */
import { gzipSync } from 'node:zlib';
import {
  type ExecutionPlan, INIT_CONTAINER, Layout, PLAN_ENV_CHUNK, PLAN_ENV_PREFIX, RUNTIME_IMAGE_DIR, RUNTIME_VOLUME, SUPERVISOR_CONTAINER, podLayout,
} from '@pipod/plan';
import type { PodParts } from './compile.ts';
import type { Raw } from './read.ts';

/** Seconds added to the pipeline timeout for the pod deadline: the supervisor enforces the timeout, the deadline only catches a supervisor that could not. */
export const DEADLINE_MARGIN_S = 60;

/** The argv that starts the entrypoint bundle in a mode, through the loader so any image works. */
export function wrapperCommand(layout: Layout, mode: string, ...rest: string[]): string[] {
  return [layout.loader, '--library-path', layout.libDir, layout.node, layout.entrypoint, mode, ...rest];
}

/**
 * The runtime image keeps node, `lib/` and `entrypoint.js` directly under
 * RUNTIME_IMAGE_DIR; init runs from there before anything is in the volume.
 */
export function initCommand(): string[] {
  const dir = RUNTIME_IMAGE_DIR;
  return [`${dir}/lib/ld-linux-x86-64.so.2`, '--library-path', `${dir}/lib`, `${dir}/node`, `${dir}/entrypoint.js`, 'init'];
}

/**
 * The plan as gzip+base64 chunks, in order. Plain JSON.stringify: the plan is
 * built in a deterministic order, so the bytes are stable without sorting
 * (sorting a large plan cost more than the rest of writing the Pod).
 */
export function encodePlan(plan: ExecutionPlan): string[] {
  const b64 = gzipSync(Buffer.from(JSON.stringify(plan))).toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += PLAN_ENV_CHUNK) out.push(b64.slice(i, i + PLAN_ENV_CHUNK));
  return out;
}

/** Builds the Pod object. */
export function writePod(plan: ExecutionPlan, parts: PodParts, runtimeImage: string): Raw {
  const runtimeMount = { name: RUNTIME_VOLUME, mountPath: podLayout.root };
  const init = {
    name: INIT_CONTAINER,
    image: runtimeImage,
    command: initCommand(),
    env: encodePlan(plan).map((value, i) => ({ name: `${PLAN_ENV_PREFIX}${i}`, value })),
    volumeMounts: [runtimeMount],
  };
  const supervisor = {
    name: SUPERVISOR_CONTAINER,
    image: runtimeImage,
    command: wrapperCommand(podLayout, 'supervise'),
    volumeMounts: [runtimeMount],
  };
  const containers = parts.containers.map((c) => ({
    name: c.name,
    image: c.image,
    command: wrapperCommand(podLayout, c.kind, c.name),
    ...(c.env.length > 0 ? { env: c.env } : {}),
    ...(c.envFrom !== undefined ? { envFrom: c.envFrom } : {}),
    ...(c.computeResources ? { resources: c.computeResources } : {}),
    ...(c.securityContext ? { securityContext: c.securityContext } : {}),
    ...(c.imagePullPolicy !== undefined ? { imagePullPolicy: c.imagePullPolicy } : {}),
    ...(c.ports !== undefined ? { ports: c.ports } : {}),
    volumeMounts: c.volumeMounts,
  }));
  const pipelineMs = plan.timeouts.pipelineMs;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: parts.name, namespace: parts.namespace, labels: parts.labels, annotations: parts.annotations },
    spec: {
      ...(parts.podTemplate ?? {}),
      restartPolicy: 'Never',
      ...(pipelineMs !== undefined ? { activeDeadlineSeconds: Math.ceil(pipelineMs / 1000) + DEADLINE_MARGIN_S } : {}),
      ...(parts.serviceAccountName !== undefined ? { serviceAccountName: parts.serviceAccountName } : {}),
      initContainers: [init],
      containers: [supervisor, ...containers],
      volumes: [{ name: RUNTIME_VOLUME, emptyDir: {} }, ...parts.volumes],
    },
  };
}
