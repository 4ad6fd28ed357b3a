/**
 * The podman runtime: `podman kube play` of the generated Pod on this host,
 * the supervisor's event stream from `podman logs -f`, cancellation through
 * the cancel file on the run volume, and removal of everything afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify as toYaml } from 'yaml';
import {
  INIT_CONTAINER, Layout, PipodError, RUNTIME_VOLUME, SUPERVISOR_CONTAINER,
  type ExecutionPlan, type RunEvent, type RunSummary,
} from '@pipod/plan';
import { parseEventLine, startWatchdog, syntheticSummary } from './events.ts';
import { toPodmanPod, uniquePodName, type ImageMap } from './podman-pod.ts';
import type { CancelMode, LogLine, RunHandle, RunObserver, RunRequest, Runtime } from './types.ts';

/** Settings of the podman runtime. */
export interface PodmanOptions {
  /** The podman executable. */
  readonly podman?: string;
  /** Host directory under which each run gets its own directory (volumes, pod file). */
  readonly runRoot?: string;
  readonly imageMap?: ImageMap;
  /** How long an immediate cancel may take before the pod is removed by force. */
  readonly forceAfterMs?: number;
}

/** Where runs keep their files by default: /var/lib/pipod/runs as root, a temp dir otherwise. */
export function defaultRunRoot(): string {
  if (process.env.PIPOD_RUN_ROOT) return process.env.PIPOD_RUN_ROOT;
  return process.getuid?.() === 0 ? '/var/lib/pipod/runs' : join(tmpdir(), `pipod-${process.getuid?.() ?? 'user'}`, 'runs');
}

interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Lines podman 4.3 prints on every call in containers without syslog; they only hide real errors. */
const NOISE = [/failed to connect to syslog/, /level=error msg="Removing container \w+ from database/];

/** Podman's stderr without its noise. */
export function cleanStderr(s: string): string {
  return s.split('\n').filter((l) => l.trim() !== '' && !NOISE.some((re) => re.test(l))).join('\n');
}

function lastLines(s: string, n: number): string {
  return s.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
}

const LOG_DRAIN_MS = 5000;
const FINISH_GRACE_MS = 2000;
/** File in a run's directory naming the pid of the pipod process that owns the run. */
const OWNER_FILE = 'owner.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs pipod pods with podman kube play. */
export class PodmanRuntime implements Runtime {
  readonly name = 'podman' as const;
  private readonly podman: string;
  private readonly runRoot: string;

  constructor(private readonly opts: PodmanOptions = {}) {
    this.podman = opts.podman ?? 'podman';
    this.runRoot = opts.runRoot ?? defaultRunRoot();
  }

  /** Runs podman to completion; its own process group, so a terminal Ctrl-C reaches only pipod. */
  private exec(args: readonly string[], input?: string): Promise<ExecResult> {
    return new Promise((resolve) => {
      const p = spawn(this.podman, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      p.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` }));
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr: cleanStderr(stderr) }));
      p.stdin.end(input ?? '');
    });
  }

  start(req: RunRequest, obs: RunObserver): RunHandle {
    const podName = uniquePodName(req.pod, randomBytes(3).toString('hex'));
    const hostDir = join(this.runRoot, podName);
    const note = (m: string): void => obs.onNote?.(m);
    const children = new Set<ReturnType<typeof spawn>>();
    let cancelState: 'none' | CancelMode | 'force' = 'none';
    // Read through a function: the state changes from signal handlers while run() awaits.
    const cancelled = (): 'none' | CancelMode | 'force' => cancelState;
    let podCreated = false;
    let runLayout: Layout | undefined;
    let forceTimer: NodeJS.Timeout | undefined;
    let forced: ((reason: string) => void) | undefined;
    const forcedP = new Promise<string>((resolve) => { forced = resolve; });

    const writeCancel = (mode: CancelMode): void => {
      if (runLayout === undefined) return;
      mkdirSync(runLayout.runDir, { recursive: true });
      const tmp = `${runLayout.cancelFile}.${process.pid}.tmp`;
      writeFileSync(tmp, mode);
      renameSync(tmp, runLayout.cancelFile);
    };

    const forceRemove = async (reason: string): Promise<void> => {
      forced?.(reason);
      if (podCreated) await this.exec(['pod', 'rm', '-f', '-t', '0', podName]);
    };

    const cancel = async (mode: CancelMode): Promise<void> => {
      const next = cancelState === 'none' ? mode : cancelState === 'graceful' && mode === 'graceful' ? 'immediate' : cancelState === 'graceful' ? mode : 'force';
      cancelState = next;
      if (next === 'force') {
        note('removing the pod by force');
        await forceRemove('Cancelled');
        return;
      }
      note(next === 'graceful' ? 'cancelling (finally tasks still run); Ctrl-C again to stop at once' : 'cancelling immediately; Ctrl-C again to remove the pod by force');
      if (podCreated) writeCancel(next);
      if (next === 'immediate' && forceTimer === undefined) {
        forceTimer = setTimeout(() => { void forceRemove('Cancelled'); }, this.opts.forceAfterMs ?? 20_000);
        forceTimer.unref();
      }
    };

    const cleanup = async (): Promise<void> => {
      if (forceTimer !== undefined) clearTimeout(forceTimer);
      if (podCreated && !req.keep) {
        // The run is over (or abandoned): nothing left in the pod deserves a grace period, and the
        // infra container ignores SIGTERM, so any timeout here is pure waiting.
        const r = await this.exec(['pod', 'rm', '-f', '-t', '0', podName]);
        if (r.code !== 0 && !/no such pod/i.test(r.stderr)) note(`could not remove pod ${podName}: ${lastLines(r.stderr, 3)}`);
      }
      for (const c of children) if (c.exitCode === null && c.pid !== undefined) { try { process.kill(-c.pid, 'SIGTERM'); } catch { /* already gone */ } }
      if (!req.keep) rmSync(hostDir, { recursive: true, force: true });
      else note(`kept pod ${podName} and ${hostDir}`);
    };

    const run = async (): Promise<RunSummary> => {
      const startedAt = new Date();
      await this.sweepOrphans(note);
      // Map images first, so the local-image check sees the names podman will use.
      const probe = toPodmanPod(req.pod, { podName, hostDir, imageMap: this.opts.imageMap });
      const local = new Set<string>();
      const present = await Promise.all(probe.images.map(async (image) => (await this.exec(['image', 'exists', image])).code === 0));
      for (const [i, image] of probe.images.entries()) {
        if (present[i] === true) { local.add(image); continue; }
        note(`pulling ${image}`);
        const r = await this.exec(['pull', '-q', image]);
        if (r.code !== 0) throw new PipodError('IMAGE', `image ${image} is not on this host and could not be pulled: ${lastLines(r.stderr, 2) || `podman exited with ${r.code}`}`);
        local.add(image);
      }
      if (cancelled() !== 'none') return syntheticSummary('Cancelled', 'Cancelled before the pod started', startedAt, new Date(), req.plan);
      const pp = toPodmanPod(req.pod, { podName, hostDir, imageMap: this.opts.imageMap, localImages: local });
      // Create every host directory up front, world-writable like an emptyDir, so steps running as any user can write.
      mkdirSync(hostDir, { recursive: true });
      writeFileSync(join(hostDir, OWNER_FILE), String(process.pid));
      for (const v of pp.pod.spec.volumes ?? []) {
        const p = v.hostPath?.path;
        if (p !== undefined && p.startsWith(`${hostDir}/`)) {
          mkdirSync(p, { recursive: true });
          chmodSync(p, 0o777);
        }
      }
      const volDir = pp.volumeDirs[RUNTIME_VOLUME];
      if (volDir !== undefined) runLayout = new Layout(volDir);
      // Real YAML: podman 4.3's reader rejects some multi-line JSON it should accept.
      const podFile = join(hostDir, 'pod.yaml');
      writeFileSync(podFile, toYaml(pp.pod, { lineWidth: 0 }));

      podCreated = true;
      const play = await this.exec(['kube', 'play', podFile]);
      if (play.code !== 0) {
        let detail = lastLines(play.stderr, 4);
        if (/init container/.test(play.stderr)) {
          const logs = await this.exec(['logs', `${podName}-${INIT_CONTAINER}`]);
          const out = lastLines(`${logs.stdout}\n${logs.stderr}`, 10);
          if (out) detail += `\ninit container output:\n${out}`;
        }
        throw new PipodError('START', `podman could not start pod ${podName}: ${detail || `podman kube play exited with ${play.code}`}`);
      }
      note(`pod ${podName} started`);
      const pending = cancelled();
      if (pending === 'graceful' || pending === 'immediate') writeCancel(pending);

      const supervisor = `${podName}-${SUPERVISOR_CONTAINER}`;
      const stepLogs = req.logs ? this.followStepLogs(podName, req.plan, obs, children) : Promise.resolve();

      let summary: RunSummary | undefined;
      const tail: string[] = [];
      const follow = new Promise<void>((resolve) => {
        const p = spawn(this.podman, ['logs', '-f', supervisor], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        children.add(p);
        const onLine = (line: string): void => {
          const e: RunEvent | undefined = parseEventLine(line);
          if (e === undefined) {
            if (line.trim() !== '' && !NOISE.some((re) => re.test(line))) {
              tail.push(line);
              if (tail.length > 20) tail.shift();
              if (req.logs) obs.onLog?.({ container: SUPERVISOR_CONTAINER, stream: 'stderr', text: line });
            }
            return;
          }
          if (e.type === 'run.finished') {
            summary = e.summary;
            // The verdict is in; do not wait long for the supervisor's own exit before cleaning up.
            setTimeout(resolve, FINISH_GRACE_MS).unref();
          }
          obs.onEvent?.(e);
        };
        createInterface({ input: p.stdout }).on('line', onLine);
        createInterface({ input: p.stderr }).on('line', onLine);
        p.on('close', () => resolve());
        p.on('error', () => resolve());
      });

      const watchdog = startWatchdog(req.watchdogMs, () => {
        note('the run exceeded its time budget; cancelling immediately');
        void cancel('immediate');
      });
      const forcedReason = await Promise.race([follow.then(() => undefined), forcedP]);
      watchdog.stop();
      // Let the log follower drain: step containers exit on their own once the supervisor is done.
      await Promise.race([stepLogs, new Promise((r) => setTimeout(r, LOG_DRAIN_MS).unref())]);

      if (summary === undefined && forcedReason === undefined && runLayout !== undefined && existsSync(runLayout.summaryFile)) {
        try {
          summary = JSON.parse(readFileSync(runLayout.summaryFile, 'utf8')) as RunSummary;
        } catch { /* half-written: fall through to a synthetic summary */ }
      }
      if (summary !== undefined) return summary;
      if (forcedReason !== undefined) {
        return syntheticSummary(watchdog.fired ? 'TimedOut' : 'Cancelled', watchdog.fired ? 'the run did not stop within its time budget; the pod was removed' : 'the pod was removed by force', startedAt, new Date(), req.plan);
      }
      const waited = await this.exec(['wait', supervisor]);
      const code = waited.stdout.trim();
      return syntheticSummary('Failed', `the supervisor exited${code ? ` with code ${code}` : ''} without a summary${tail.length > 0 ? `: ${tail.slice(-5).join(' | ')}` : ''}`, startedAt, new Date(), req.plan);
    };

    const result = (async () => {
      try {
        return await run();
      } finally {
        await cleanup();
      }
    })();
    return { podName, result, cancel };
  }

  /** Removes the pods and directories of runs whose pipod process died without cleaning up (killed with SIGKILL, machine reboot). */
  private async sweepOrphans(note: (m: string) => void): Promise<void> {
    let dirs: string[];
    try {
      dirs = readdirSync(this.runRoot);
    } catch {
      return;
    }
    for (const d of dirs) {
      let pid: number;
      try {
        pid = Number(readFileSync(join(this.runRoot, d, OWNER_FILE), 'utf8').trim());
      } catch {
        continue;
      }
      if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
      note(`removing ${d}, left behind by pipod process ${pid}`);
      await this.exec(['pod', 'rm', '-f', '-t', '0', d]);
      rmSync(join(this.runRoot, d), { recursive: true, force: true });
    }
  }

  /** Streams every step and sidecar container's output, attributed to task/step through the plan. */
  private followStepLogs(podName: string, plan: ExecutionPlan, obs: RunObserver, children: Set<ReturnType<typeof spawn>>): Promise<void> {
    const owners = containerOwners(plan);
    const names = [...owners.keys()].map((c) => `${podName}-${c}`);
    if (names.length === 0) return Promise.resolve();
    const single = owners.size === 1 ? [...owners.keys()][0] : undefined;
    const p = spawn(this.podman, ['logs', '-f', '-n', ...names], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(p);
    const onLine = (stream: LogLine['stream']) => (line: string): void => {
      if (NOISE.some((re) => re.test(line))) return;
      // podman prefixes lines with the container name only when following more than one.
      const sp = single !== undefined ? -1 : line.indexOf(' ');
      const full = sp > 0 ? line.slice(0, sp) : '';
      const container = single ?? (full.startsWith(`${podName}-`) ? full.slice(podName.length + 1) : '');
      const owner = owners.get(container);
      if (owner === undefined) return;
      obs.onLog?.({ container, task: owner.task, step: owner.step, stream, text: line.slice(sp + 1) });
    };
    createInterface({ input: p.stdout }).on('line', onLine('stdout'));
    createInterface({ input: p.stderr }).on('line', onLine('stderr'));
    return new Promise((resolve) => {
      p.on('close', () => resolve());
      p.on('error', () => resolve());
    });
  }
}

/** Label of the runtime image naming the sha256 of the entrypoint bundle it carries. */
export const ENTRYPOINT_LABEL = 'dev.pipod.entrypoint.sha256';

/**
 * A warning when the local runtime image carries another entrypoint bundle
 * than the given one (a checkout whose bundle was rebuilt but not its image),
 * else undefined. Images without the label, or not on this host, are not judged.
 */
export function staleRuntimeImageWarning(image: string, bundle: string, podman = 'podman'): string | undefined {
  if (!existsSync(bundle)) return undefined;
  const r = spawnSync(podman, ['image', 'inspect', '--format', `{{index .Labels "${ENTRYPOINT_LABEL}"}}`, image], { encoding: 'utf8' });
  const label = r.status === 0 ? r.stdout.trim() : '';
  if (!/^[0-9a-f]{64}$/.test(label)) return undefined;
  const local = createHash('sha256').update(readFileSync(bundle)).digest('hex');
  return local === label ? undefined : `${image} carries another entrypoint bundle than ${bundle}; rebuild it with \`node scripts/runtime-image.mjs --load\``;
}

/** Container name → the task and step (or sidecar) it runs, from the plan. */
export function containerOwners(plan: ExecutionPlan): Map<string, { task?: string; step: string }> {
  const m = new Map<string, { task?: string; step: string }>();
  for (const t of [...plan.tasks, ...plan.finally]) {
    for (const s of t.steps) m.set(s.container, { task: t.name, step: s.name });
    for (const s of t.sidecars) m.set(s.container, { task: t.name, step: s.name });
  }
  for (const s of plan.sidecars) m.set(s.container, { step: s.name });
  return m;
}
