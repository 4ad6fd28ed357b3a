/**
 * `sidecar <container>`: starts its process when the supervisor says so, runs
 * its startup and readiness probes itself with Kubernetes' timing fields,
 * writes the ready file, and stops the process (SIGTERM, grace, SIGKILL) when
 * its scope ends.
 */
import { expandKubeVars, type DoneMessage, type PlanProbe, type StartMessage } from '@pipod/plan';
import { exists, readJson, sleep, writeAtomic, writeJson } from './io.ts';
import { loadConfig, processFor, startLiveness, stopProcess, waitForWork, type WrapperDeps } from './step.ts';
import type { Runner, RunningProcess } from './runner.ts';
import { WrapperExit } from './errors.ts';

/** Result of one probe attempt. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Runs one probe attempt within its timeout. */
export async function probeOnce(probe: PlanProbe, runner: Runner, env: Readonly<Record<string, string>>): Promise<ProbeResult> {
  const h = probe.handler;
  const timeoutMs = Math.max(1, probe.timeoutMs);
  if (h.kind === 'exec') {
    // The kubelet expands $(VAR) in an exec probe's command too.
    const proc = runner.start({ argv: h.command.map((a) => expandKubeVars(a, (n) => env[n])), env, quiet: true });
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
  return grpcProbe(h.port, h.service ?? '', timeoutMs);
}

/** The gRPC health-check request: message `HealthCheckRequest { string service = 1; }`, length-prefixed. */
export function grpcHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const fields: number[] = [];
  if (name.length > 0) {
    fields.push(0x0a); // field 1, wire type 2 (length-delimited)
    for (let n = name.length; ; n >>>= 7) {
      if (n < 0x80) { fields.push(n); break; }
      fields.push((n & 0x7f) | 0x80);
    }
  }
  const msg = Buffer.concat([Buffer.from(fields), name]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** The `status` of a length-prefixed `HealthCheckResponse` (field 1, varint); 0 (UNKNOWN) when absent. */
export function grpcHealthStatus(body: Buffer): number {
  if (body.length < 5) return 0;
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; i < msg.length; shift += 7) {
      const b = msg[i++] ?? 0;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    return v;
  };
  while (i < msg.length) {
    const key = varint();
    const wire = key & 7;
    if (key >>> 3 === 1 && wire === 0) return varint();
    if (wire === 0) varint();
    else if (wire === 2) {
      const n = varint();
      i += n;
    }
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else break;
  }
  return 0;
}

const GRPC_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** One call of `grpc.health.v1.Health/Check` over cleartext HTTP/2, as the kubelet's grpc probe. */
async function grpcProbe(port: number, service: string, timeoutMs: number): Promise<ProbeResult> {
  const http2 = await import('node:http2');
  return new Promise((resolve) => {
    let settled = false;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, message: 'grpc probe timed out' }), timeoutMs);
    client.once('error', (e) => done({ ok: false, message: `grpc probe: ${e.message}` }));
    const req = client.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', (e) => done({ ok: false, message: `grpc probe: ${e.message}` }));
    req.on('end', () => {
      if (grpcStatus !== undefined && grpcStatus !== '0') return done({ ok: false, message: `grpc probe: rpc failed with grpc-status ${grpcStatus}` });
      const st = grpcHealthStatus(Buffer.concat(chunks));
      done(st === 1 ? { ok: true } : { ok: false, message: `grpc probe: service is ${GRPC_STATUS[st] ?? String(st)}` });
    });
    req.end(grpcHealthRequest(service));
  });
}

/**
 * Runs a probe until it succeeds `successThreshold` times in a row. With
 * `fatal`, `failureThreshold` failures in a row give up. The wrapper runs
 * both probes fatal: a sidecar that never becomes ready must fail its task
 * rather than hold it forever, as a kubelet's readiness probe would.
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
      if (fatal && ++bad >= Math.max(1, probe.failureThreshold)) return { ok: false, message: `${r.message} (${bad} failures in a row)` };
    }
    await sleep(Math.max(10, probe.periodMs));
  }
}

/** The `sidecar` mode loop. */
export async function sidecarMode(deps: WrapperDeps, container: string): Promise<number> {
  const { layout, runner, waiter, clock } = deps;
  const { settings, sidecar: sc } = loadConfig(layout, container);
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
      const { argv, env } = processFor(msg, deps.env);
      const proc = runner.start({ argv, env, cwd: msg.workingDir || undefined, logFile: layout.logFile(container) });
      current = proc;
      let ended = false;
      let stopped = false;
      let probeFailure: string | undefined;
      const endP = proc.ended.then((e) => {
        ended = true;
        return e;
      });
      const stopName = `stop-${msg.seq}`;
      void waiter.until([layout.inboxDir(container)], (n) => n === stopName || n === 'release' || n === 'exit', () => {
        if (ended) return false;
        return exists(layout.stopFile(container, msg.seq)) || exists(layout.releaseFile(container)) || exists(layout.exitFile) ? true : undefined;
      }).then((hit) => {
        if (hit) {
          stopped = true;
          stopProcess(proc, msg.graceMs);
        }
      });
      void (async () => {
        for (const [probe, kind] of [[sc?.startupProbe, 'startupProbe'], [sc?.readinessProbe, 'readinessProbe']] as const) {
          if (probe === undefined) continue;
          const r = await probeUntil(probe, runner, env, true, () => !ended && !stopped);
          if (!r.ok) {
            if (stopped || ended) return;
            probeFailure = `${kind} failed: ${r.message}`;
            process.stderr.write(`pipod sidecar ${container}: ${probeFailure}\n`);
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
          : {
            seq: msg.seq, exitCode: end.exitCode, ...(end.signal !== undefined ? { signal: end.signal } : {}),
            reason: probeFailure !== undefined ? 'Failed' : stopped ? 'Stopped' : end.exitCode === 0 ? 'Completed' : 'Failed',
            ...(probeFailure !== undefined ? { message: probeFailure } : !stopped ? { message: `exited with code ${end.exitCode}${end.signal !== undefined ? ` (${end.signal})` : ''}` } : {}),
            startedAt, finishedAt,
          };
      writeJson(layout.doneFile(container, msg.seq), done);
      proc.reapLeftovers();
      seq = wake.seq + 1;
    }
  } finally {
    stopLiveness();
  }
}
