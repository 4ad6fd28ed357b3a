/** Shared helpers of the e2e suite: real podman, the real runtime image, local test images. */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

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
