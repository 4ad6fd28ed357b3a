/** Hand-written plans and pods for the resource tests: only the fields the resource code reads are meaningful. */
import { DEFAULT_SETTINGS, INIT_CONTAINER, PLAN_API_VERSION, PLAN_SCHEMA_VERSION, SUPERVISOR_CONTAINER } from '@pipod/plan';
import type { ExecutionPlan, PlanSidecar, PlanStep, PlanTask } from '@pipod/plan';
import type { PodContainer, PodObject, ResourceList } from '@pipod/podbuilder/resources';

/** A step or sidecar of the plan, named `<task>-<name>` in the Pod. */
function step(task: string, name: string): PlanStep {
  return { name, container: `${task}-${name}`, image: 'busybox', command: [], args: [], env: [], onError: 'stopAndFail', results: [] };
}

function sidecar(task: string, name: string): PlanSidecar {
  return { name, container: `${task}-${name}`, image: 'busybox', command: [], args: [], env: [], terminationGraceMs: 1000 };
}

/** A plan task with the given steps and sidecars. */
export function task(name: string, dependsOn: string[], steps: string[], sidecars: string[] = []): PlanTask {
  return {
    name, id: name, dependsOn, when: [], retries: 0, onError: 'stopAndFail', params: {}, results: [],
    steps: steps.map((s) => step(name, s)),
    sidecars: sidecars.map((s) => sidecar(name, s)),
  };
}

/** A plan around tasks, finally tasks and pipeline sidecars. */
export function plan(tasks: PlanTask[], fin: PlanTask[] = [], pipelineSidecars: string[] = []): ExecutionPlan {
  return {
    apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: PLAN_SCHEMA_VERSION,
    run: { pipelineRunName: 'run', namespace: 'default', uid: 'u', pipelineName: 'p' },
    timeouts: {}, params: {}, tasks, finally: fin, results: [],
    sidecars: pipelineSidecars.map((s) => sidecar('pipeline', s)),
    settings: DEFAULT_SETTINGS,
  };
}

/** A container with optional requests and limits. */
export function container(name: string, requests?: ResourceList, limits?: ResourceList): PodContainer {
  const resources: Record<string, ResourceList> = {};
  if (requests !== undefined) resources.requests = requests;
  if (limits !== undefined) resources.limits = limits;
  return { name, image: 'x', ...(requests !== undefined || limits !== undefined ? { resources } : {}) };
}

/** A pod with the init container, the supervisor and the given containers. */
export function pod(containers: PodContainer[], supervisor: PodContainer = container(SUPERVISOR_CONTAINER, { cpu: '50m', memory: '32Mi' }), init: PodContainer = container(INIT_CONTAINER, { cpu: '100m', memory: '64Mi' })): PodObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'run' }, spec: { restartPolicy: 'Never', initContainers: [init], containers: [supervisor, ...containers] } };
}

/** requests of every container by name. */
export function requestsOf(p: PodObject): Record<string, ResourceList | undefined> {
  return Object.fromEntries([...(p.spec.initContainers ?? []), ...p.spec.containers].map((c) => [c.name, c.resources?.requests]));
}
