/**
 * `init`: prepares the shared volume before any other container starts —
 * copies the runtime (Node, its loader and libraries, the bundle), decodes
 * the plan from the environment, and creates every run directory.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { PLAN_API_VERSION, PLAN_ENV_PREFIX, RUNTIME_IMAGE_DIR, type ContainerConfig, type ExecutionPlan, type Layout } from '@pipod/plan';
import { exists, mkdirp, writeAtomic, writeJson } from './io.ts';
import { UsageError } from './errors.ts';

/** Environment variable that overrides where the runtime is copied from (tests). */
export const RUNTIME_DIR_ENV = 'PIPOD_RUNTIME_DIR';

/** Copies a directory tree, each file written under a temporary name and renamed, modes preserved. */
export function copyTree(from: string, to: string): number {
  mkdirp(to);
  let n = 0;
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      n += copyTree(src, dst);
    } else if (e.isSymbolicLink()) {
      const tmp = `${dst}.pipod-tmp`;
      fs.rmSync(tmp, { force: true });
      fs.symlinkSync(fs.readlinkSync(src), tmp);
      fs.renameSync(tmp, dst);
      n++;
    } else if (e.isFile()) {
      const tmp = `${dst}.pipod-tmp`;
      fs.copyFileSync(src, tmp);
      fs.chmodSync(tmp, fs.statSync(src).mode & 0o7777);
      fs.renameSync(tmp, dst);
      n++;
    }
  }
  return n;
}

/** Joins `PIPOD_PLAN_0…N`, base64-decodes and gunzips them into the plan's JSON text. */
export async function decodePlanEnv(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  // Loaded here only: init is the one mode that needs zlib.
  const { gunzipSync } = await import('node:zlib');
  const chunks: string[] = [];
  for (let i = 0; ; i++) {
    const c = env[`${PLAN_ENV_PREFIX}${i}`];
    if (c === undefined) break;
    chunks.push(c);
  }
  if (chunks.length === 0) throw new UsageError(`no plan in the environment (${PLAN_ENV_PREFIX}0 is not set)`);
  let text: string;
  try {
    text = gunzipSync(Buffer.from(chunks.join(''), 'base64')).toString('utf8');
  } catch (e) {
    throw new UsageError(`the plan in ${PLAN_ENV_PREFIX}0…${chunks.length - 1} is not gzipped base64: ${e instanceof Error ? e.message : String(e)}`);
  }
  let plan: ExecutionPlan;
  try {
    plan = JSON.parse(text) as ExecutionPlan;
  } catch {
    throw new UsageError('the plan in the environment is not valid JSON');
  }
  if (plan.apiVersion !== PLAN_API_VERSION || plan.kind !== 'ExecutionPlan') throw new UsageError(`the plan in the environment is not a ${PLAN_API_VERSION} ExecutionPlan`);
  return text;
}

/**
 * Creates every directory of the file protocol and each container's
 * `ContainerConfig`; writable by all because step images may run as any
 * user (read-only mounts, not modes, keep a container out of what is not
 * its own). Init calls it, and the supervisor again (a no-op in a pod), so a
 * supervisor run on a bare root still finds them.
 */
export function createRunDirs(layout: Layout, plan: ExecutionPlan): void {
  for (const d of [layout.runDir, layout.broadcastDir, layout.containersDir, layout.tasksDir]) mkdirp(d, 0o777);
  // Only the runtime (from outside) and the supervisor write facts, and no step mounts them.
  mkdirp(layout.factsDir, 0o755);
  const mailbox = (container: string, config: ContainerConfig): void => {
    mkdirp(layout.inboxDir(container), 0o777);
    mkdirp(layout.outboxDir(container), 0o777);
    // The supervisor calls this again on start; thousands of rewrites would only delay it.
    if (!exists(layout.configFile(container))) writeJson(layout.configFile(container), config);
  };
  const settings = plan.settings;
  for (const t of [...plan.tasks, ...plan.finally]) {
    for (const d of [layout.taskDir(t.id), layout.taskResultsDir(t.id), layout.taskWorkspaceDir(t.id), layout.stepsDir(t.id)]) mkdirp(d, 0o777);
    for (const s of t.steps) {
      mailbox(s.container, { settings });
      mkdirp(layout.stepDir(t.id, s.name), 0o777);
      mkdirp(layout.stepResultsDir(t.id, s.name), 0o777);
    }
    for (const s of t.sidecars) mailbox(s.container, { settings, sidecar: s });
  }
  for (const s of plan.sidecars) mailbox(s.container, { settings, sidecar: s });
}

/** The `init` mode. */
export async function initMode(layout: Layout, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const source = env[RUNTIME_DIR_ENV] ?? RUNTIME_IMAGE_DIR;
  const text = await decodePlanEnv(env);
  if (!fs.existsSync(source)) throw new UsageError(`no runtime to copy at ${source}`);
  mkdirp(layout.root);
  copyTree(source, layout.binDir);
  writeAtomic(layout.planFile, text);
  createRunDirs(layout, JSON.parse(text) as ExecutionPlan);
}
