/** Shared helpers of the e2e suite: real podman, the real runtime image, local test images. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSummary } from '@pipod/plan';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The CLI of this checkout. */
export const CLI = join(ROOT, 'packages/cli/bin/pipod.mjs');

/** What `pipod run -o json` gave: its exit code, the summary (its one line on stdout) and stderr. */
export interface PipodRunJson {
  readonly code: number | null;
  readonly summary: RunSummary;
  readonly stderr: string;
}

/**
 * Runs `pipod run -o json ARGS…` from the checkout; `onStderr` sees stderr so
 * far each time it grows and may signal the CLI (to cancel it). Rejects
 * unless stdout is exactly one JSON line.
 */
export function pipodRunJson(args: readonly string[], onStderr?: (stderr: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<PipodRunJson> {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [CLI, 'run', '-o', 'json', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, (sig) => p.kill(sig));
    });
    p.on('error', reject);
    p.on('close', (code) => {
      const lines = stdout.split('\n').filter((l) => l.trim() !== '');
      if (lines.length !== 1) {
        reject(new Error(`expected exactly one JSON line on stdout, got ${lines.length}:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ code, summary: JSON.parse(lines[0] ?? '') as RunSummary, stderr });
    });
  });
}

/** The runtime image `scripts/runtime-image.mjs` loads. */
export const RUNTIME_IMAGE = 'localhost/pipod/runtime:0.1.0';
/** Debian minbase image built by scripts/test-images.sh. */
export const DEBIAN_IMAGE = 'localhost/pipod-test/debian:bookworm';
/** busybox-static image (no libc, no Node) built by scripts/test-images.sh. */
export const BUSYBOX_IMAGE = 'localhost/pipod-test/busybox:latest';

let ready = false;

/** Builds the bundles, the runtime image and the test images when missing or stale (idempotent, cached). */
export function ensureImages(): void {
  if (ready) return;
  execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('node', ['scripts/runtime-image.mjs', '--load'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PIPOD_QUIET: '1' } });
  execFileSync('bash', ['scripts/test-images.sh'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  ready = true;
}

/** Runs podman and returns stdout, stderr and the exit code (never throws). */
export function podman(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Names of pods whose name starts with the prefix. */
export function podsNamed(prefix: string): string[] {
  return podman('pod', 'ps', '--format', '{{.Name}}').stdout.split('\n').filter((n) => n.startsWith(prefix));
}

/** Names of volumes whose name starts with the prefix. */
export function volumesNamed(prefix: string): string[] {
  return podman('volume', 'ls', '--format', '{{.Name}}').stdout.split('\n').filter((n) => n.startsWith(prefix));
}

/** Names of containers (any state) whose name starts with the prefix. */
export function containersNamed(prefix: string): string[] {
  return podman('ps', '-a', '--format', '{{.Names}}').stdout.split('\n').filter((n) => n.startsWith(prefix));
}

/** The loader command that runs the runtime's Node from the shared volume in any image. */
export function nodeViaLoader(root = '/pipod'): string[] {
  return [`${root}/bin/lib/ld-linux-x86-64.so.2`, '--library-path', `${root}/bin/lib`, `${root}/bin/node`];
}
