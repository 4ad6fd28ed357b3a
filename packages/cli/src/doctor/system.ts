/**
 * The real DoctorDeps: commands through child_process, the local file
 * system, and the cluster through @pipod/controller's Kube.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Kube, httpStatus } from '@pipod/controller';
import type { ClusterProbe, CommandRunner, DoctorDeps, ExecResult } from './checks.ts';

/** How long one command or cluster call of the doctor may take. */
const CALL_TIMEOUT_MS = 20_000;

/** Runs a command to completion (killed after CALL_TIMEOUT_MS); 127 when it cannot be started. */
export const runCommand: CommandRunner = (cmd, args) => new Promise<ExecResult>((resolve) => {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => { stderr += `\n${cmd} ${args.join(' ')}: no answer after ${CALL_TIMEOUT_MS / 1000}s`; p.kill('SIGKILL'); }, CALL_TIMEOUT_MS);
  p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  p.on('error', (e) => { clearTimeout(timer); resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` }); });
  p.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr }); });
});

function withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer to ${what} after ${CALL_TIMEOUT_MS / 1000}s`)), CALL_TIMEOUT_MS); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The error's first line: client-node puts whole response bodies in its messages. */
function short(e: unknown): Error {
  const m = e instanceof Error ? e.message : String(e);
  return new Error(m.split('\n')[0] ?? m);
}

/** A ClusterProbe over a kubeconfig (the default chain when undefined). */
export function kubeProbe(kubeconfig: string | undefined): ClusterProbe {
  const kube = Kube.load(kubeconfig);
  const cluster = kube.config.getCurrentCluster();
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await withTimeout(what, f());
    } catch (e) {
      throw short(e);
    }
  };
  return {
    context: kube.config.getCurrentContext(),
    server: cluster?.server ?? '(no server)',
    namespace: kube.currentNamespace(),
    async version() {
      await call('the API', () => kube.core.getAPIResources());
      const nodes = await call('list nodes', () => kube.core.listNode()).catch(() => undefined);
      const v = nodes?.items[0]?.status?.nodeInfo?.kubeletVersion;
      return v !== undefined ? `${v} (kubelet)` : 'API';
    },
    async namespaceExists(name) {
      try {
        await withTimeout(`get namespace ${name}`, kube.core.readNamespace({ name }));
        return true;
      } catch (e) {
        if (httpStatus(e) === 404) return false;
        throw short(e);
      }
    },
    async nodeImages() {
      const nodes = await call('list nodes', () => kube.core.listNode());
      return nodes.items.map((n) => ({ node: n.metadata?.name ?? '?', images: (n.status?.images ?? []).flatMap((i) => i.names ?? []) }));
    },
  };
}

/** The deps of this process and machine. */
export function systemDeps(): DoctorDeps {
  return {
    run: runCommand,
    readFile: (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } },
    exists: (p) => existsSync(p),
    uid: process.getuid?.() ?? 0,
    user: (() => { try { return userInfo().username; } catch { return String(process.getuid?.() ?? ''); } })(),
    env: process.env,
    cluster: kubeProbe,
  };
}
