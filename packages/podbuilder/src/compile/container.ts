/**
 * Containers: ONE `compileContainer` for a step, a task sidecar and a
 * pipeline sidecar — image (substituted, run-time refs refused, mapped),
 * command/args/script or the image's entrypoint (escaped for the kubelet),
 * env split into static and run-time, valueFrom/envFrom substituted, and
 * the Pod container with its mounts and ports.
 */
import {
  INIT_CONTAINER, MAX_LABEL, RUNTIME_VOLUME, SUPERVISOR_CONTAINER, type PlanEnv, type PlanSidecar, type WrapperIdentity, dnsLabel, escapeKubeVars, isRunTimeRef, mapImage, readsStepResult, refsIn, shortHash, podLayout, wrapperMounts,
} from '@pipod/plan';
import { type DocSink, viaField } from '../errors.ts';
import { isRecord } from '../load.ts';
import type { ContainerSpec } from '../model.ts';
import type { BuildOptions } from '../options.ts';
import type { Raw } from '../read.ts';
import type { SidecarPorts } from '../sidecars.ts';
import { type Scope, subst } from './scope.ts';
import type { ContainerOut } from './types.ts';

const SHEBANG_PREFIX = '#!/bin/sh\nset -e\n';

/** Assigns unique DNS-1123 names in order: the first holder keeps a name, later ones get a stable hash suffix. */
export class Names {
  private readonly used = new Set<string>([INIT_CONTAINER, SUPERVISOR_CONTAINER]);
  /** A unique name made of `parts`. */
  take(parts: readonly string[]): string {
    let name = dnsLabel(parts);
    let n = 0;
    while (this.used.has(name)) {
      n += 1;
      const suffix = `-${shortHash(`${parts.join('\u0000')}#${n}`)}`;
      name = dnsLabel(parts, MAX_LABEL - suffix.length) + suffix;
    }
    this.used.add(name);
    return name;
  }
}

/** The Pod's containers as they are compiled, with what spans all of them (names, port names, the annotation map). */
export class PodContainers {
  readonly containers: ContainerOut[] = [];
  readonly annotations: Record<string, Record<string, string>> = {};
  readonly names = new Names();
  readonly portNames = new Set<string>();
  readonly sidecarPorts: SidecarPorts[] = [];
}

/** A wrapped container's part of the pipod volume (`wrapperMounts`) as subPath volumeMounts. */
export function runVolumeMounts(w: WrapperIdentity): Raw[] {
  return wrapperMounts(podLayout, w).map((m) => ({ name: RUNTIME_VOLUME, mountPath: m.path, subPath: m.subPath, ...(m.readOnly ? { readOnly: true } : {}) }));
}

/** Where a container is compiled. */
export interface ContainerPlace {
  readonly d: DocSink;
  readonly scope: Scope;
  /** Parts of the container's name (`[taskId, name]`, or `['sidecar', name]` for a pipeline sidecar). */
  readonly nameParts: readonly string[];
  /** Plan task name; empty for a pipeline sidecar. */
  readonly task: string;
  /** Who the container belongs to, for messages: `pipeline task "a"`, `pipeline sidecar "s"`. */
  readonly owner: string;
  /** The container's volume mounts, given its Pod container name. */
  readonly mounts: (c: ContainerSpec, container: string) => Raw[];
}

/** What the plan records of a compiled container. */
export interface CompiledContainer {
  readonly name: string;
  readonly image: string;
  readonly command: string[];
  readonly args: string[];
  readonly script?: string;
  readonly env: PlanEnv[];
  readonly workingDir?: string;
}

/** Compiles one step or sidecar into its Pod container (added to `pod`) and what the plan keeps of it. */
export function compileContainer(pod: PodContainers, options: BuildOptions, c: ContainerSpec, at: ContainerPlace): CompiledContainer {
  const { d, scope } = at;
  const container = pod.names.take(at.nameParts);
  pod.annotations[container] = c.kind === 'step' ? { step: c.name, task: at.task } : { sidecar: c.name, task: at.task };
  let image = subst.text(d, scope, c.image ?? '', c.imagePath);
  const rt = refsIn(image).filter(isRunTimeRef);
  if (rt.length > 0) {
    d.error(c.imagePath, `image depends on the run-time value $(${rt[0] ?? ''}) (${at.owner}); one pod needs every image before it starts`);
  }
  if (image.trim() === '' && c.image !== undefined && c.image !== '') d.error(c.imagePath, `image of ${c.kind} "${c.name}" is empty after substitution (${at.owner})`);
  image = mapImage(image, options.imageMap);
  if (c.kind === 'step') {
    // Tekton admits step results only where they reach the process as data (env, command, args), never pasted into a script.
    for (const [field, v] of [['script', c.script], ['workingDir', c.workingDir]] as const) {
      if (v !== undefined && readsStepResult(v)) d.error(viaField(c.path, field), `step result references are allowed only in env, command and args (as in Tekton), not in ${field}: pass the value through env`);
    }
  }
  let command: string[] = [];
  let args: string[] = c.args ? subst.args(d, scope, c.args, viaField(c.path, 'args')) : [];
  let script: string | undefined;
  if (c.script !== undefined) {
    const body = subst.text(d, scope, c.script, viaField(c.path, 'script'));
    script = body.startsWith('#!') ? body : SHEBANG_PREFIX + body;
  } else if (c.command) {
    command = subst.args(d, scope, c.command, viaField(c.path, 'command'));
  } else if (image !== '' && rt.length === 0) {
    const entry = imageEntrypoint(d, options, c, image, args);
    if (entry) ({ command, args } = entry);
  }
  const env: PlanEnv[] = [];
  const staticEnv: Raw[] = [];
  for (const e of c.env) {
    if (e.valueFrom) { staticEnv.push({ name: e.name, valueFrom: subst.raw(d, scope, e.valueFrom, viaField(e.path, 'valueFrom')) }); continue; }
    const value = subst.text(d, scope, e.value ?? '', viaField(e.path, 'value'));
    if (refsIn(value).some(isRunTimeRef)) env.push({ name: e.name, value });
    else staticEnv.push({ name: e.name, value });
  }
  const workingDir = c.workingDir !== undefined ? subst.text(d, scope, c.workingDir, viaField(c.path, 'workingDir')) : undefined;
  pod.containers.push({
    name: container, kind: c.kind, task: at.task, member: c.name, image, env: staticEnv,
    ...(c.envFrom !== undefined ? { envFrom: subst.raw(d, scope, c.envFrom, viaField(c.path, 'envFrom')) } : {}),
    ...(c.computeResources ? { computeResources: c.computeResources } : {}),
    ...(c.securityContext ? { securityContext: c.securityContext } : {}),
    ...(c.imagePullPolicy !== undefined ? { imagePullPolicy: c.imagePullPolicy } : {}),
    ...(c.ports !== undefined ? { ports: sharePorts(c, pod.portNames) } : {}),
    volumeMounts: at.mounts(c, container),
  });
  return { name: container, image, command, args, ...(script !== undefined ? { script } : {}), env, ...(workingDir !== undefined && workingDir !== '' ? { workingDir } : {}) };
}

/**
 * Command and args from the image's Entrypoint and Cmd, for a container with
 * neither command nor script (its own args, when it has them, replace Cmd);
 * a resolver failure is an error at the container's path.
 */
function imageEntrypoint(d: DocSink, options: BuildOptions, c: ContainerSpec, image: string, ownArgs: string[]): { command: string[]; args: string[] } | undefined {
  let cfg: { entrypoint: readonly string[]; cmd: readonly string[] } | undefined;
  let why = 'no image config resolver was given';
  if (options.imageConfigResolver) {
    try {
      cfg = options.imageConfigResolver.resolve(image);
      why = 'the image is unknown';
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
  }
  if (!cfg) {
    d.error(c.path, `${c.kind} "${c.name}" has neither command nor script and the entrypoint of image "${image}" could not be resolved: ${why}`);
    return undefined;
  }
  // The kubelet expands $(VAR) in a container's command and args, never in its image's Entrypoint/Cmd.
  let command = cfg.entrypoint.map(escapeKubeVars);
  let args = c.args ? ownArgs : cfg.cmd.map(escapeKubeVars);
  if (command.length === 0) { command = args; args = []; }
  if (command.length === 0) d.error(c.path, `${c.kind} "${c.name}" has neither command nor script and image "${image}" has neither Entrypoint nor Cmd`);
  return { command, args };
}

/** A sidecar's plan entry. */
export function planSidecar(s: ContainerSpec, c: CompiledContainer, terminationGraceMs: number): PlanSidecar {
  return {
    name: s.name, container: c.name, image: c.image, command: c.command, args: c.args, ...(c.script !== undefined ? { script: c.script } : {}),
    env: c.env, ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}),
    ...(s.readinessProbe ? { readinessProbe: s.readinessProbe } : {}), ...(s.startupProbe ? { startupProbe: s.startupProbe } : {}),
    terminationGraceMs,
  };
}

/**
 * One pod is one set of port names: a repeated port name is dropped (probes
 * already resolved it to a number). Repeated numbers are `checkSidecarPorts`'s.
 */
function sharePorts(c: ContainerSpec, seen: Set<string>): unknown {
  if (!Array.isArray(c.ports)) return c.ports;
  return c.ports.map((p: unknown) => {
    if (!isRecord(p)) return p;
    const name = p['name'];
    if (typeof name !== 'string') return p;
    if (seen.has(name)) {
      const { name: _n, ...rest } = p;
      return rest;
    }
    seen.add(name);
    return p;
  });
}
