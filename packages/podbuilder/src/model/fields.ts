/**
 * The allow-lists: every field pipod reads of each Tekton object. A field
 * marked with a string is known but refused, with that reason.
 */
import { type Fields, LATER } from '../read.ts';

export const METADATA: Fields = {
  name: true, generateName: true, namespace: true, labels: true, annotations: true,
  uid: true, resourceVersion: true, generation: true, creationTimestamp: true,
};
export const TOP: Fields = { apiVersion: true, kind: true, metadata: true, spec: true, status: 'status is written by a controller, not read by pipod' };

export const PARAM_SPEC: Fields = { name: true, type: true, description: true, default: true, properties: true, enum: true };
export const PARAM: Fields = { name: true, value: true };
export const TASK_SPEC: Fields = {
  displayName: true, description: true, params: true, workspaces: true, results: true, steps: true, sidecars: true, volumes: true, stepTemplate: true,
};
export const TASK_WORKSPACE: Fields = { name: true, description: true, mountPath: true, readOnly: true, optional: true };
export const TASK_RESULT: Fields = { name: true, type: true, description: true, properties: true, value: true };
export const STEP: Fields = {
  name: true, displayName: true, image: true, command: true, args: true, workingDir: true, env: true, envFrom: true,
  computeResources: true, volumeMounts: true, imagePullPolicy: true, securityContext: true, script: true, timeout: true,
  onError: true, results: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  volumeDevices: `volumeDevices are ${LATER}`,
  workspaces: true,
  stdoutConfig: `stdoutConfig is ${LATER}`,
  stderrConfig: `stderrConfig is ${LATER}`,
  ref: true,
  params: true,
  when: true,
};
/** Fields a step that names a StepAction may set itself; the rest come from the StepAction. */
export const STEP_WITH_REF = new Set(['name', 'ref', 'params', 'onError', 'timeout', 'computeResources', 'results', 'displayName', 'workingDir', 'securityContext', 'when']);
export const STEP_REF: Fields = { name: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
export const STEP_ACTION_SPEC: Fields = {
  description: true, image: true, command: true, args: true, script: true, env: true, params: true, results: true,
  workingDir: true, securityContext: true, volumeMounts: true,
};
export const TEMPLATE: Fields = {
  image: true, command: true, args: true, workingDir: true, env: true, envFrom: true, computeResources: true,
  volumeMounts: true, imagePullPolicy: true, securityContext: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  volumeDevices: `volumeDevices are ${LATER}`,
};
export const SIDECAR: Fields = {
  name: true, image: true, command: true, args: true, workingDir: true, env: true, envFrom: true, ports: true,
  computeResources: true, volumeMounts: true, imagePullPolicy: true, securityContext: true, script: true,
  readinessProbe: true, startupProbe: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  livenessProbe: `sidecar livenessProbe is ${LATER}`,
  lifecycle: `sidecar lifecycle hooks are ${LATER}`,
  volumeDevices: `volumeDevices are ${LATER}`,
  workspaces: true,
  restartPolicy: `sidecar restartPolicy is ${LATER}`,
  stdin: LATER, stdinOnce: LATER, tty: LATER, terminationMessagePath: LATER, terminationMessagePolicy: LATER,
};
export const ENV: Fields = { name: true, value: true, valueFrom: true };
export const MOUNT: Fields = { name: true, mountPath: true, subPath: true, readOnly: true, subPathExpr: true, mountPropagation: true, recursiveReadOnly: true };
export const PROBE: Fields = {
  exec: true, httpGet: true, tcpSocket: true, grpc: true, initialDelaySeconds: true, periodSeconds: true, timeoutSeconds: true,
  failureThreshold: true, successThreshold: true, terminationGracePeriodSeconds: `probe terminationGracePeriodSeconds is ${LATER}`,
};
export const PIPELINE_SPEC: Fields = { displayName: true, description: true, tasks: true, finally: true, params: true, workspaces: true, results: true, sidecars: true };
export const PIPELINE_TASK: Fields = {
  name: true, displayName: true, description: true, taskRef: true, taskSpec: true, runAfter: true, params: true, workspaces: true,
  when: true, timeout: true, retries: true, onError: true,
  matrix: true,
  pipelineRef: true,
  pipelineSpec: true,
};
export const TASK_REF: Fields = { name: true, kind: true, apiVersion: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
export const EMBEDDED_TASK: Fields = { ...TASK_SPEC, metadata: true, apiVersion: true, kind: true, spec: true };
/** `taskSpec.metadata` and `taskRunSpecs[].metadata`: what Tekton copies onto the TaskRun (here: the pod). */
export const TASK_METADATA: Fields = { labels: true, annotations: true };
export const MATRIX: Fields = { params: true, include: true };
export const MATRIX_INCLUDE: Fields = { name: true, params: true };
export const PT_WORKSPACE: Fields = { name: true, workspace: true, subPath: true };
export const WHEN: Fields = { input: true, operator: true, values: true, cel: `CEL when expressions are ${LATER}` };
export const PIPELINE_WORKSPACE: Fields = { name: true, description: true, optional: true };
export const PIPELINE_RESULT: Fields = { name: true, type: true, description: true, value: true };
export const PIPELINE_RUN_SPEC: Fields = {
  pipelineRef: true, pipelineSpec: true, params: true, workspaces: true, timeouts: true, taskRunTemplate: true, taskRunSpecs: true,
  managedBy: true, status: `run status (cancel) is ${LATER}`,
  podTemplate: 'not a tekton.dev/v1 field; use spec.taskRunTemplate.podTemplate',
  serviceAccountName: 'not a tekton.dev/v1 field; use spec.taskRunTemplate.serviceAccountName',
  timeout: 'not a tekton.dev/v1 field; use spec.timeouts.pipeline',
  serviceAccountNames: 'not a tekton.dev/v1 field; use spec.taskRunSpecs',
};
export const TASK_RUN_SPEC: Fields = {
  taskRef: true, taskSpec: true, params: true, workspaces: true, timeout: true, serviceAccountName: true, podTemplate: true,
  retries: true, managedBy: true,
  status: `run status (cancel) is ${LATER}`, debug: `debug is ${LATER}`, stepSpecs: true, sidecarSpecs: true, computeResources: true,
};
export const PIPELINE_REF: Fields = { name: true, apiVersion: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
export const COMPUTE_RESOURCES: Fields = { requests: true, limits: true, claims: `resource claims are ${LATER}` };
export const TIMEOUTS: Fields = { pipeline: true, tasks: true, finally: true };
export const TASK_RUN_TEMPLATE: Fields = { serviceAccountName: true, podTemplate: true };
export const TASK_RUN_SPECS: Fields = {
  pipelineTaskName: true, serviceAccountName: true, sidecars: true,
  podTemplate: true, stepSpecs: true, sidecarSpecs: true, metadata: true, computeResources: true, timeout: true,
};
/** Pod template fields that apply to the one pod as a whole. */
export const POD_TEMPLATE: Fields = {
  nodeSelector: true, tolerations: true, affinity: true, securityContext: true, imagePullSecrets: true, priorityClassName: true,
  schedulerName: true, runtimeClassName: true, hostNetwork: true, dnsPolicy: true, dnsConfig: true, enableServiceLinks: true,
  automountServiceAccountToken: true, hostAliases: true, topologySpreadConstraints: true, terminationGracePeriodSeconds: true,
  env: true, volumes: true, hostUsers: true,
  shareProcessNamespace: 'not allowed: in the one pod every task would see the processes, environment and files of every other (/proc/<pid>/root)',
};
export const RUN_WORKSPACE: Fields = {
  name: true, subPath: true, emptyDir: true, persistentVolumeClaim: true, configMap: true, secret: true, projected: true, csi: true,
  volumeClaimTemplate: true,
};
/** Kubernetes objects next to the runs (objects.ts): created with the run. */
export const CONFIG_MAP: Fields = { apiVersion: true, kind: true, metadata: true, data: true, binaryData: true, immutable: true };
export const SECRET: Fields = { apiVersion: true, kind: true, metadata: true, data: true, stringData: true, type: true, immutable: true };
export const SERVICE_ACCOUNT: Fields = { apiVersion: true, kind: true, metadata: true, secrets: true, imagePullSecrets: true, automountServiceAccountToken: true };
export const OBJECT_METADATA: Fields = {
  name: true, namespace: true, labels: true, annotations: true,
  uid: true, resourceVersion: true, creationTimestamp: true, generation: true, managedFields: true,
  generateName: 'a ConfigMap, Secret or ServiceAccount is referred to by name: give metadata.name',
  ownerReferences: 'the run owns the objects it creates', finalizers: 'not read by pipod',
};
