/**
 * The podman runtime: `podman kube play` of the generated Pod on this host,
 * the supervisor's event stream from `podman logs -f`, cancellation through
 * the cancel file on the run volume, and removal of everything afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify as toYaml } from 'yaml';
import {
  INIT_CONTAINER, Layout, PipodError, RUNTIME_VOLUME, SUPERVISOR_CONTAINER, type CancelMode, type RunSummary,
} from '@pipod/plan';
import type { SupervisorStream } from './events.ts';
import { DeathWatch, writeDeath } from './podman-deaths.ts';
import { parseTimedLine } from '../output/podman-logs.ts';
import { readStepMessages } from '../runstore/step-messages.ts';
import { podmanObjects } from './podman-objects.ts';
import { toPodmanPod, uniquePodName, type ImageMap } from './podman-pod.ts';
import { containerOwners, startRun, type RunDriver, type StartOutcome, type Verdict } from './run.ts';
import type { LogLine, RunHandle, RunObserver, RunRequest, Runtime } from './types.ts';

/** Settings of the podman runtime. */
export interface PodmanOptions {
  /** The podman executable. */
  readonly podman?: string;
  /** Host directory under which each run gets its own directory (volumes, pod file). */
  readonly runRoot?: string;
  readonly imageMap?: ImageMap;
  /** How long an immediate cancel may take before the pod is removed by force (default `FORCE_AFTER_MS`, 30 s). */
  readonly forceAfterMs?: number;
  /** How podman is run (tests pass a fake; default: the `podman` executable). */
  readonly commands?: PodmanCommands;
}

/** Where runs keep their files by default: /var/lib/pipod/runs as root, a temp dir otherwise. */
export function defaultRunRoot(): string {
  if (process.env.PIPOD_RUN_ROOT) return process.env.PIPOD_RUN_ROOT;
  return process.getuid?.() === 0 ? '/var/lib/pipod/runs' : join(tmpdir(), `pipod-${process.getuid?.() ?? 'user'}`, 'runs');
}

/** What a finished podman command left. */
export interface PodmanResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A long-running podman command (`logs -f`) being followed. */
export interface PodmanFollower {
  /** Settles when the command ended (or could not start). */
  readonly done: Promise<void>;
  /** Ends the command (its whole process group). */
  stop(): void;
}

/** How the podman driver runs podman: the real executable, or a fake in tests. */
export interface PodmanCommands {
  /** Runs podman to completion; stderr without podman's noise. */
  exec(args: readonly string[], input?: string): Promise<PodmanResult>;
  /** Runs podman and hands on each line of its output as it comes. */
  follow(args: readonly string[], onLine: (line: string, stream: 'stdout' | 'stderr') => void): PodmanFollower;
}

/** Lines podman 4.3 prints on every call in containers without syslog; they only hide real errors. */
const NOISE = [/failed to connect to syslog/, /level=error msg="Removing container \w+ from database/];

/** How often the container list is read for a death the event stream lost. */
const DEATH_POLL_MS = 2000;

const isNoise = (line: string): boolean => NOISE.some((re) => re.test(line));

/** Podman's stderr without its noise. */
export function cleanStderr(s: string): string {
  return s.split('\n').filter((l) => l.trim() !== '' && !isNoise(l)).join('\n');
}

function lastLines(s: string, n: number): string {
  return s.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
}

/** Runs the podman executable, each call in its own process group, so a terminal Ctrl-C reaches only pipod. */
export function podmanCommands(podman = 'podman'): PodmanCommands {
  return {
    exec: (args, input) => new Promise((resolve) => {
      const p = spawn(podman, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      p.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` }));
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr: cleanStderr(stderr) }));
      p.stdin.end(input ?? '');
    }),
    follow: (args, onLine) => {
      const p = spawn(podman, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      createInterface({ input: p.stdout }).on('line', (l) => onLine(l, 'stdout'));
      createInterface({ input: p.stderr }).on('line', (l) => onLine(l, 'stderr'));
      const done = new Promise<void>((resolve) => {
        p.on('close', () => resolve());
        p.on('error', () => resolve());
      });
      return {
        done,
        stop: () => { if (p.exitCode === null && p.pid !== undefined) { try { process.kill(-p.pid, 'SIGTERM'); } catch { /* already gone */ } } },
      };
    },
  };
}

/** File in a run's directory naming the pid of the pipod process that owns the run. */
const OWNER_FILE = 'owner.pid';
/** File in a run's directory that marks it kept (`--keep`): no sweep removes it. */
const KEPT_FILE = 'kept';
/** File in a run's directory naming the podman secrets the run created, one a line. */
const SECRETS_FILE = 'secrets';

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/**
 * Creates `dir` below `base` with every directory on the way world-writable,
 * like an emptyDir: a subPath mount's directory (say `run/tasks/a/results`)
 * is created here, before the init container, so the directories above it
 * must not be left root's 0755, or a non-root pod could not create its own
 * beside them. This is about which user may create files, nothing else.
 */
export function mkdirShared(base: string, dir: string): void {
  const parts = relative(base, dir).split(sep).filter((p) => p !== '' && p !== '.');
  let p = base;
  for (const part of ['', ...parts]) {
    p = part === '' ? base : join(p, part);
    if (!existsSync(p)) mkdirSync(p);
    chmodSync(p, 0o777);
  }
}

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
  private readonly commands: PodmanCommands;
  private readonly runRoot: string;

  constructor(private readonly opts: PodmanOptions = {}) {
    this.commands = opts.commands ?? podmanCommands(opts.podman);
    this.runRoot = opts.runRoot ?? defaultRunRoot();
  }

  start(req: RunRequest, obs: RunObserver): RunHandle {
    const podName = uniquePodName(req.pod, randomBytes(3).toString('hex'));
    const driver = new PodmanDriver(this.commands, this.runRoot, podName, req, this.opts.imageMap, (m) => obs.onNote?.(m));
    return startRun(driver, req, obs, this.opts.forceAfterMs !== undefined ? { forceAfterMs: this.opts.forceAfterMs } : {});
  }
}

/**
 * One run on podman: the pod file and every emptyDir live in a directory of
 * the run under the run root, `podman kube play` starts the pod (and returns
 * once it runs), `podman logs -f` follows it, the cancel file is written
 * straight into the run volume on the host.
 */
class PodmanDriver implements RunDriver {
  readonly removal = 'remove' as const;
  readonly podRef: string;
  private readonly hostDir: string;
  private readonly local = new Set<string>();
  private readonly followers = new Set<PodmanFollower>();
  private created = false;
  /** podman secrets this run created (the input's Secrets, see podman-objects.ts). */
  private readonly secrets: string[] = [];
  private layout: Layout | undefined;
  private deathPoll: NodeJS.Timeout | undefined;
  /** How far each container's output copy on the run volume was counted. */
  private readonly written = new Map<string, { offset: number; lines: number; lastByte: number }>();

  constructor(
    private readonly podman: PodmanCommands,
    private readonly runRoot: string,
    readonly podName: string,
    private readonly req: RunRequest,
    private readonly imageMap: ImageMap | undefined,
    private readonly note: (m: string) => void,
  ) {
    this.podRef = podName;
    this.hostDir = join(runRoot, podName);
  }

  async prepare(): Promise<void> {
    await this.sweepOrphans();
    // Map images first, so the local-image check sees the names podman will use.
    const probe = toPodmanPod(this.req.pod, { podName: this.podName, hostDir: this.hostDir, imageMap: this.imageMap });
    const present = await Promise.all(probe.images.map(async (image) => (await this.podman.exec(['image', 'exists', image])).code === 0));
    for (const [i, image] of probe.images.entries()) {
      if (present[i] === true) { this.local.add(image); continue; }
      this.note(`pulling ${image}`);
      const r = await this.podman.exec(['pull', '-q', image]);
      if (r.code !== 0) throw new PipodError('IMAGE', `image ${image} is not on this host and could not be pulled: ${lastLines(r.stderr, 2) || `podman exited with ${r.code}`}`);
      this.local.add(image);
    }
  }

  async create(): Promise<void> {
    const { podName, hostDir } = this;
    // The input's ConfigMaps and Secrets first: they decide volumes and env references (podman-objects.ts).
    const objs = podmanObjects(this.req.pod, this.req.objects ?? [], { podName, hostDir });
    const pp = toPodmanPod(objs.pod, { podName, hostDir, imageMap: this.imageMap, localImages: this.local });
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, OWNER_FILE), String(process.pid));
    // Create every host directory up front, world-writable like an emptyDir, so steps running as any user can write.
    for (const v of pp.pod.spec.volumes ?? []) {
      const p = v.hostPath?.path;
      if (p !== undefined && p.startsWith(`${hostDir}/volumes/`)) mkdirShared(join(hostDir, 'volumes'), p);
    }
    for (const d of objs.dirs) mkdirSync(d, { recursive: true, mode: 0o755 });
    for (const f of objs.files) {
      mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
      writeFileSync(f.path, f.data, { mode: f.mode });
      chmodSync(f.path, f.mode);
    }
    this.created = true;
    if (objs.secrets.length > 0) {
      // Recorded first, so a sweep after a crash removes them too.
      writeFileSync(join(hostDir, SECRETS_FILE), `${objs.secrets.map((x) => x.name).join('\n')}\n`);
      for (const sec of objs.secrets) {
        await this.podman.exec(['secret', 'rm', sec.name]);
        // From a file (0600, removed at once): podman refuses `-` when stdin is a socket, which is what Node's pipes are.
        const file = join(hostDir, `secret-${sec.name}.json`);
        writeFileSync(file, sec.data, { mode: 0o600 });
        const r = await this.podman.exec(['secret', 'create', sec.name, file]);
        rmSync(file, { force: true });
        if (r.code !== 0) throw new PipodError('START', `podman could not create secret ${sec.name}: ${lastLines(r.stderr, 2) || `podman exited with ${r.code}`}`);
        this.secrets.push(sec.name);
      }
    }
    const volDir = pp.volumeDirs[RUNTIME_VOLUME];
    if (volDir !== undefined) this.layout = new Layout(volDir);
    // Real YAML: podman 4.3's reader rejects some multi-line JSON it should accept. ConfigMaps env refers to go with the pod.
    const podFile = join(hostDir, 'pod.yaml');
    writeFileSync(podFile, [...objs.configMaps, pp.pod].map((d) => toYaml(d, { lineWidth: 0 })).join('---\n'));

    this.watchDeaths(pp.pod);
    const play = await this.podman.exec(['kube', 'play', podFile]);
    if (play.code !== 0) {
      let detail = lastLines(play.stderr, 4);
      if (/init container/.test(play.stderr)) {
        const logs = await this.podman.exec(['logs', `${podName}-${INIT_CONTAINER}`]);
        const out = lastLines(`${logs.stdout}\n${logs.stderr}`, 10);
        if (out) detail += `\ninit container output:\n${out}`;
      }
      throw new PipodError('START', `podman could not start pod ${podName}: ${detail || `podman kube play exited with ${play.code}`}`);
    }
  }

  /** `kube play` returns once the pod's containers run. */
  waitStarted(): Promise<StartOutcome> {
    return Promise.resolve('started');
  }

  deliverCancel(mode: CancelMode): Promise<void> {
    if (this.layout !== undefined) {
      mkdirSync(this.layout.runDir, { recursive: true });
      const tmp = `${this.layout.cancelFile}.${process.pid}.tmp`;
      writeFileSync(tmp, mode);
      renameSync(tmp, this.layout.cancelFile);
    }
    return Promise.resolve();
  }

  followSupervisor(stream: SupervisorStream): Promise<void> {
    return this.follow(['logs', '-f', `${this.podName}-${SUPERVISOR_CONTAINER}`], (line) => { if (!isNoise(line)) stream.line(line); });
  }

  followSteps(onLog: (line: LogLine) => void): Promise<void> {
    return this.stepLogs(['logs', '-f', '-t', '-n'], onLog);
  }

  /** `podman logs` without -f reads each container's whole log, as the follower should have seen it. */
  async completeStepLogs(): Promise<readonly LogLine[]> {
    const lines: LogLine[] = [];
    await this.stepLogs(['logs', '-t', '-n'], (l) => lines.push(l));
    return lines;
  }

  /** Counts the lines of the step wrapper's copy of the output on the run volume (written before the step's done file), reading only what is new. */
  outputWritten(container: string): number | undefined {
    if (this.layout === undefined) return undefined;
    const seen = this.written.get(container) ?? { offset: 0, lines: 0, lastByte: 10 };
    let fd: number;
    try {
      // The container writes this file on a host directory: never follow a link it planted, never block on a FIFO.
      fd = openSync(this.layout.logFile(container), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return 0;
    }
    try {
      if (!fstatSync(fd).isFile()) return 0;
      const buf = Buffer.alloc(64 * 1024);
      let { offset, lines, lastByte } = seen;
      for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
        for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
        lastByte = buf[n - 1] ?? lastByte;
        offset += n;
      }
      this.written.set(container, { offset, lines, lastByte });
      // A last line without its newline is a line to podman too.
      return lastByte === 10 ? lines : lines + 1;
    } finally {
      closeSync(fd);
    }
  }

  async containerLogs(container: string): Promise<readonly LogLine[]> {
    const owner = containerOwners(this.req.plan).get(container);
    if (owner === undefined) return [];
    const lines: LogLine[] = [];
    await this.follow(['logs', '-t', `${this.podName}-${container}`], (raw, stream) => {
      if (isNoise(raw)) return;
      const line = parseTimedLine(raw, false);
      lines.push({ container, task: owner.task, step: owner.step, stream, text: line.text, ...(line.time !== undefined ? { time: line.time } : {}) });
    });
    return lines;
  }

  stepMessages(): Readonly<Record<string, string>> {
    if (this.layout === undefined) return {};
    return readStepMessages(this.layout.root, [...containerOwners(this.req.plan).keys()]);
  }

  /** Runs `podman <args> <every step and sidecar container>` and attributes each timestamped line to its task and step. */
  private stepLogs(args: readonly string[], onLog: (line: LogLine) => void): Promise<void> {
    const owners = containerOwners(this.req.plan);
    const prefix = `${this.podName}-`;
    const names = [...owners.keys()].map((c) => `${prefix}${c}`);
    if (names.length === 0) return Promise.resolve();
    const single = owners.size === 1 ? [...owners.keys()][0] : undefined;
    return this.follow([...args, ...names], (raw, stream) => {
      if (isNoise(raw)) return;
      // podman prefixes lines with the container name only when it reads more than one.
      const line = parseTimedLine(raw, single === undefined);
      const container = single ?? (line.name?.startsWith(prefix) === true ? line.name.slice(prefix.length) : '');
      const owner = owners.get(container);
      if (owner === undefined) return;
      onLog({ container, task: owner.task, step: owner.step, stream, text: line.text, ...(line.time !== undefined ? { time: line.time } : {}) });
    });
  }

  savedSummary(): RunSummary | undefined {
    if (this.layout === undefined || !existsSync(this.layout.summaryFile)) return undefined;
    try {
      return JSON.parse(readFileSync(this.layout.summaryFile, 'utf8')) as RunSummary;
    } catch {
      return undefined; // half-written: the skeleton falls back to a synthetic summary
    }
  }

  async noSummary(tail: readonly string[]): Promise<Verdict> {
    const code = (await this.podman.exec(['wait', `${this.podName}-${SUPERVISOR_CONTAINER}`])).stdout.trim();
    return { status: 'Failed', reason: `the supervisor exited${code ? ` with code ${code}` : ''} without a summary${tail.length > 0 ? `: ${tail.slice(-5).join(' | ')}` : ''}` };
  }

  async kill(): Promise<void> {
    if (this.created) await this.podman.exec(['pod', 'rm', '-f', '-t', '0', this.podName]);
  }

  async cleanup(keep: boolean): Promise<void> {
    // The pod's removal kills its containers: those are no deaths to report.
    if (this.deathPoll !== undefined) clearInterval(this.deathPoll);
    if (!keep) for (const name of this.secrets) await this.podman.exec(['secret', 'rm', name]);
    if (this.created && !keep) {
      // The run is over (or abandoned): nothing left in the pod deserves a grace period, and the
      // infra container ignores SIGTERM, so any timeout here is pure waiting.
      const r = await this.podman.exec(['pod', 'rm', '-f', '-t', '0', this.podName]);
      if (r.code !== 0 && !/no such pod/i.test(r.stderr)) this.note(`could not remove pod ${this.podName}: ${lastLines(r.stderr, 3)}`);
    }
    for (const f of this.followers) f.stop();
    if (!keep) rmSync(this.hostDir, { recursive: true, force: true });
    else {
      // The owner is about to exit; the marker tells every later sweep that this run was left on purpose.
      if (existsSync(this.hostDir)) writeFileSync(join(this.hostDir, KEPT_FILE), `${new Date().toISOString()}\n`);
      this.note(`kept pod ${this.podName} and ${this.hostDir} (remove with: podman pod rm -f ${this.podName} && rm -rf ${this.hostDir})`);
    }
  }

  /**
   * Follows podman's events from just before the pod is played (a container
   * OOM-killed at its start dies before `kube play` returns) and writes a
   * dead fact into the run volume for every step or sidecar container that
   * dies: the supervisor ends a step waiting on it at once.
   */
  private watchDeaths(pod: { readonly spec: { readonly containers: readonly { readonly name: string; readonly [k: string]: unknown }[] } }): void {
    const layout = this.layout;
    if (layout === undefined) return;
    const containers = new Set(containerOwners(this.req.plan).keys());
    const limited = new Set(pod.spec.containers.filter((c) => {
      const res = c['resources'] as { limits?: Record<string, unknown> } | undefined;
      return res?.limits?.['memory'] !== undefined;
    }).map((c) => c.name));
    const watch = new DeathWatch(this.podName, containers, limited, (death) => {
      try {
        writeDeath(layout, death);
      } catch {
        // The run directory is already gone (cleanup): nobody waits any more.
      }
    });
    const since = new Date(Date.now() - 1000).toISOString();
    void this.follow(['events', '--since', since, '--filter', 'type=container', '--format', 'json'], (line, stream) => { if (stream === 'stdout') watch.line(line); });
    // podman's event stream can lose a `died` under load; its container list cannot.
    const prefix = `${this.podName}-`;
    let busy = false;
    this.deathPoll = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.podman.exec(['ps', '-a', '--filter', `pod=${this.podName}`, '--filter', 'status=exited', '--format', '{{.Names}}\t{{.ExitCode}}'])
        .then((r) => {
          for (const row of r.stdout.split('\n')) {
            const [name, code] = row.trim().split('\t');
            if (name?.startsWith(prefix) === true && code !== undefined && /^\d+$/.test(code)) watch.exited(name.slice(prefix.length), Number(code));
          }
        })
        .catch(() => undefined)
        .finally(() => { busy = false; });
    }, DEATH_POLL_MS);
    this.deathPoll.unref();
  }

  private follow(args: readonly string[], onLine: (line: string, stream: 'stdout' | 'stderr') => void): Promise<void> {
    const f = this.podman.follow(args, onLine);
    this.followers.add(f);
    return f.done;
  }

  /**
   * Removes the pods and directories of this user's runs whose pipod process
   * died without cleaning up (killed with SIGKILL, machine reboot). Kept runs
   * (`--keep`) and other users' runs are never touched: who owns a run is
   * who owns its owner file.
   */
  private async sweepOrphans(): Promise<void> {
    let dirs: string[];
    try {
      dirs = readdirSync(this.runRoot);
    } catch {
      return;
    }
    const uid = process.getuid?.();
    for (const d of dirs) {
      const dir = join(this.runRoot, d);
      let pid: number;
      try {
        if (existsSync(join(dir, KEPT_FILE))) continue;
        if (uid !== undefined && statSync(join(dir, OWNER_FILE)).uid !== uid) continue;
        pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
      } catch {
        continue;
      }
      if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
      this.note(`removing ${d}, left behind by pipod process ${pid}`);
      await this.podman.exec(['pod', 'rm', '-f', '-t', '0', d]);
      for (const name of readLines(join(dir, SECRETS_FILE))) await this.podman.exec(['secret', 'rm', name]);
      rmSync(dir, { recursive: true, force: true });
    }
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
