/**
 * The runtime image is reproducible: the same inputs give the same digests,
 * byte for byte, and a different bundle gives a different image. Also checks
 * the image's contents against what the pod layout expects.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, podman } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'pipod-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Info { archive: string; archiveDigest: string; manifestDigest: string; configDigest: string; layerDigest: string; diffId: string; ref: string }

function buildImage(out: string, env: Record<string, string> = {}, entrypoint?: string): Info {
  const args = ['scripts/runtime-image.mjs', '--out', out, ...(entrypoint !== undefined ? ['--entrypoint', entrypoint] : [])];
  const stdout = execFileSync('node', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PIPOD_QUIET: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(stdout) as Info;
}

describe('runtime image', () => {
  it('is byte-for-byte reproducible, even with the compressed layer rebuilt', () => {
    execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT });
    const a = buildImage(join(work, 'a.oci.tar'), { PIPOD_NO_LAYER_CACHE: '1' });
    const b = buildImage(join(work, 'b.oci.tar'), { PIPOD_NO_LAYER_CACHE: '1' });
    expect(b).toEqual({ ...a, archive: b.archive });
    expect(execFileSync('sha256sum', [a.archive, b.archive], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean).reduce((x, y) => (x === y ? x : 'differ'))).toBe(a.archiveDigest.slice(7));
    expect(a.ref).toBe('localhost/pipod/runtime:0.1.0');
  });

  it('changes when the entrypoint bundle changes', () => {
    const other = join(work, 'entrypoint.js');
    writeFileSync(other, 'console.log("another bundle");\n');
    const a = buildImage(join(work, 'c.oci.tar'));
    const b = buildImage(join(work, 'd.oci.tar'), {}, other);
    expect(b.diffId).not.toBe(a.diffId);
    expect(b.configDigest).not.toBe(a.configDigest);
  });

  it('holds node, the loader, the libraries node links and the bundle, all owned by root with a fixed mtime', () => {
    const a = buildImage(join(work, 'e.oci.tar'));
    const layer = join(work, 'layer.tar.gz');
    execFileSync('sh', ['-c', `tar -xOf ${a.archive} blobs/sha256/${a.layerDigest.slice(7)} > ${layer}`]);
    const listing = execFileSync('tar', ['-tvzf', layer, '--numeric-owner'], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((l) => l.split(/\s+/).slice(5).join(' '));
    expect(names).toEqual([
      'lib64/', 'lib64/ld-linux-x86-64.so.2 -> /pipod-runtime/lib/ld-linux-x86-64.so.2', 'pipod-runtime/', 'pipod-runtime/entrypoint.js', 'pipod-runtime/lib/',
      ...['ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6'].map((l) => `pipod-runtime/lib/${l}`),
      'pipod-runtime/node',
    ]);
    for (const l of listing) expect(l.split(/\s+/)[1]).toBe('0/0');
  });

  it('loads into podman under its ref.name and runs node with the loader it ships', () => {
    execFileSync('node', ['scripts/runtime-image.mjs', '--load'], { cwd: ROOT, env: { ...process.env, PIPOD_QUIET: '1' }, stdio: 'ignore' });
    const r = podman('run', '--rm', 'localhost/pipod/runtime:0.1.0', '/pipod-runtime/lib/ld-linux-x86-64.so.2', '--library-path', '/pipod-runtime/lib', '/pipod-runtime/node', '-e', 'console.log(process.version)');
    expect(r.stdout.trim()).toBe('v20.20.2');
  });
});
