/**
 * `sidecar <container>`: starts its process when the supervisor says so, runs
 * its startup and readiness probes itself with Kubernetes' timing fields,
 * writes the ready file, and stops the process (SIGTERM, grace, SIGKILL) when
 * its scope ends. gRPC probes are not implemented yet and fail clearly.
 */
import type { DoneMessage, ExecutionPlan, PlanProbe, PlanSidecar, StartMessage } from '@pipod/plan';
import { exists, mkdirp, readJson, sleep, writeAtomic, writeJson } from './io.ts';
import { loadSettings, startLiveness, stopProcess, waitForWork, type WrapperDeps } from './step.ts';
import type { Runner, RunningProcess } from './runner.ts';
import { WrapperExit } from './errors.ts';

/** Result of one probe attempt. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Runs one probe attempt within its timeout. */
export async function probeOnce(probe: PlanProbe, runner: Runner, env: Readonly<Record<string, string>>): Promise<ProbeResult> {
  const h = probe.handler;
  const timeoutMs = Math.max(1, probe.timeoutMs);
  if (h.kind === 'exec') {
    const proc = runner.start({ argv: h.command, env, quiet: true });
    const timer = setTimeout(() => proc.signal('SIGKILL'), timeoutMs);
    const end = await proc.ended;
    clearTimeout(timer);
    if (end.kind === 'startFailed') return { ok: false, message: end.message };
    return end.exitCode === 0 ? { ok: true } : { ok: false, message: `exec probe exited ${end.exitCode}` };
  }
  // Loaded on first use: a step wrapper never needs the network stack, and each module costs memory.
  if (h.kind === 'tcpSocket') {
    const net = await import('node:net');
    return new Promise((resolve) => {
      const sock = net.connect({ host: h.host || '127.0.0.1', port: h.port });
      const done = (r: ProbeResult): void => {
        sock.destroy();
        resolve(r);
      };
      sock.setTimeout(timeoutMs, () => done({ ok: false, message: 'tcp probe timed out' }));
      sock.once('connect', () => done({ ok: true }));
      sock.once('error', (e) => done({ ok: false, message: `tcp probe: ${e.message}` }));
    });
  }
  if (h.kind === 'httpGet') {
    const mod = h.scheme === 'HTTPS' ? await import('node:https') : await import('node:http');
    return new Promise((resolve) => {
      const headers: Record<string, string> = {};
      for (const x of h.headers) headers[x.name] = x.value;
      const req = mod.request({ host: h.host || '127.0.0.1', port: h.port, path: h.path || '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `http probe status ${code}` });
      });
      req.once('timeout', () => {
        req.destroy();
        resolve({ ok: false, message: 'http probe timed out' });
      });
      req.once('error', (e) => resolve({ ok: false, message: `http probe: ${e.message}` }));
      req.end();
    });
  }
  return { ok: false, message: 'grpc probes are not supported yet by pipod' };
}

/**
 * Runs a probe until it succeeds `successThreshold` times in a row. With
 * `fatal` (startup probe) `failureThreshold` failures in a row give up;
 * a readiness probe keeps trying, as the kubelet does.
 */
export async function probeUntil(probe: PlanProbe, runner: Runner, env: Readonly<Record<string, string>>, fatal: boolean, alive: () => boolean): Promise<ProbeResult> {
  await sleep(probe.initialDelayMs);
  let ok = 0;
  let bad = 0;
  for (;;) {
    if (!alive()) return { ok: false, message: 'the sidecar ended before its probes passed' };
    const r = await probeOnce(probe, runner, env);
    if (r.ok) {
      bad = 0;
      if (++ok >= Math.max(1, fatal ? 1 : probe.successThreshold)) return r;
    } else {
      ok = 0;
      if (fatal && ++bad >= Math.max(1, probe.failureThreshold)) return r;
      if (r.message.startsWith('grpc')) return r;
    }
    await sleep(Math.max(10, probe.periodMs));
  }
}

/** The sidecar's plan entry, looked up by container name. */
export function findSidecar(plan: ExecutionPlan | undefined, container: string): PlanSidecar | undefined {
  if (plan === undefined) return undefined;
  for (const s of plan.sidecars) if (s.container === container) return s;
  for (const t of [...plan.tasks, ...plan.finally]) for (const s of t.sidecars) if (s.container === container) return s;
  return undefined;
}

/** The `sidecar` mode loop. */
export async function sidecarMode(deps: WrapperDeps, container: string): Promise<number> {
  const { layout, runner, waiter, clock } = deps;
  mkdirp(layout.containerDir(container));
  mkdirp(`${layout.runDir}/logs`);
  const settings = loadSettings(layout);
  const sc = findSidecar(readJson<ExecutionPlan>(layout.planFile), container);
  let current: RunningProcess | undefined;
  let staleWhy: string | undefined;
  let wakeStale: (() => void) | undefined;
  const stale = new Promise<'stale'>((r) => {
    wakeStale = () => r('stale');
  });
  const stopLiveness = startLiveness(deps, container, settings, (why) => {
    staleWhy = why;
    if (current !== undefined) stopProcess(current, sc?.terminationGraceMs ?? settings.stepGraceMs);
    wakeStale?.();
  });
  try {
    let seq = 1;
    for (;;) {
      const wake = await Promise.race([waitForWork(deps, container, seq), stale]);
      if (wake === 'stale') throw new WrapperExit(`${container}: ${staleWhy ?? 'supervisor gone'}; giving up`, 3);
      if (wake.kind !== 'start') return 0;
      const msg = readJson<StartMessage>(layout.startFile(container, wake.seq));
      if (msg === undefined) throw new WrapperExit(`${container}: start message ${wake.seq} vanished`, 3);
      const startedAt = new Date(clock.now()).toISOString();
      if (msg.script !== undefined && msg.scriptFile !== undefined) writeAtomic(msg.scriptFile, msg.script, 0o755);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(deps.env)) if (v !== undefined) env[k] = v;
      Object.assign(env, msg.env);
      const proc = runner.start({ argv: msg.argv, env, cwd: msg.workingDir || undefined, logFile: layout.logFile(container) });
      current = proc;
      let ended = false;
      let stopped = false;
      const endP = proc.ended.then((e) => {
        ended = true;
        return e;
      });
      const stopName = `stop-${msg.seq}`;
      void waiter.until([layout.containerDir(container)], (n) => n === stopName || n === 'release' || n === 'exit', () => {
        if (ended) return false;
        return exists(layout.stopFile(container, msg.seq)) || exists(layout.releaseFile(container)) || exists(layout.exitFile) ? true : undefined;
      }).then((hit) => {
        if (hit) {
          stopped = true;
          stopProcess(proc, msg.graceMs);
        }
      });
      void (async () => {
        for (const [probe, fatal] of [[sc?.startupProbe, true], [sc?.readinessProbe, false]] as const) {
          if (probe === undefined) continue;
          const r = await probeUntil(probe, runner, env, fatal, () => !ended && !stopped);
          if (!r.ok) {
            process.stderr.write(`pipod sidecar ${container}: ${r.message}\n`);
            stopped = true;
            stopProcess(proc, msg.graceMs);
            return;
          }
        }
        if (!ended && !stopped) writeAtomic(layout.readyFile(container), startedAt);
      })();
      const end = await endP;
      current = undefined;
      const finishedAt = new Date(clock.now()).toISOString();
      const done: DoneMessage =
        end.kind === 'startFailed'
          ? { seq: msg.seq, exitCode: 127, reason: 'StartFailed', message: end.message, startedAt, finishedAt }
          : { seq: msg.seq, exitCode: end.exitCode, ...(end.signal !== undefined ? { signal: end.signal } : {}), reason: stopped ? 'Stopped' : end.exitCode === 0 ? 'Completed' : 'Failed', startedAt, finishedAt };
      writeJson(layout.doneFile(container, msg.seq), done);
      proc.reapLeftovers();
      seq = wake.seq + 1;
    }
  } finally {
    stopLiveness();
  }
}
