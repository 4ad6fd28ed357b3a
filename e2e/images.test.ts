// Image entrypoint lookup against a real registry (Debian's docker-registry)
// and the real podman image store, with an image the test pushes itself.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageConfigResolver, PodmanSource, RegistrySource, loadCredentials } from '@pipod/images';

const IMAGE = 'localhost/pipod-test/entry:e2e';
const dir = mkdtempSync(join(tmpdir(), 'pipod-registry-'));
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function startRegistry(name: string, htpasswd?: string): Promise<string> {
  const port = await freePort();
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  const auth = htpasswd !== undefined ? `auth:\n  htpasswd:\n    realm: pipod-test\n    path: ${htpasswd}\n` : '';
  writeFileSync(join(root, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}/data\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const p = spawn('docker-registry', ['serve', join(root, 'config.yml')], { stdio: 'ignore' });
  procs.push(p);
  const url = `http://127.0.0.1:${port}/v2/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.status === 200 || r.status === 401) return `127.0.0.1:${port}`;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry ${name} did not start`);
}

let open = '';
let secured = '';

beforeAll(async () => {
  // An image whose only purpose is its config: an entrypoint and a cmd.
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, 'marker'), 'pipod');
  execFileSync('sh', ['-c', `tar -C ${rootfs} -c . | podman import --change 'ENTRYPOINT ["/bin/echo","from-entrypoint"]' --change 'CMD ["a","b"]' --change 'WORKDIR /w' - ${IMAGE}`], { stdio: 'ignore' });
  const pw = join(dir, 'htpasswd');
  execFileSync('htpasswd', ['-Bbc', pw, 'alice', 's3cret'], { stdio: 'ignore' });
  open = await startRegistry('open');
  secured = await startRegistry('secured', pw);
  execFileSync('podman', ['push', '-q', '--tls-verify=false', IMAGE, `${open}/team/entry:1`], { stdio: 'ignore' });
  execFileSync('podman', ['push', '-q', '--tls-verify=false', '--creds', 'alice:s3cret', IMAGE, `${secured}/team/entry:1`], { stdio: 'ignore' });
});

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  try {
    execFileSync('podman', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
});

const want = { entrypoint: ['/bin/echo', 'from-entrypoint'], cmd: ['a', 'b'], workingDir: '/w' };

describe('RegistrySource', () => {
  it('reads the config anonymously', async () => {
    expect(await new RegistrySource().lookup(`${open}/team/entry:1`)).toEqual(want);
  });

  it('reads the config with Basic credentials', async () => {
    const src = new RegistrySource({ credentials: { [secured]: { username: 'alice', password: 's3cret' } } });
    expect(await src.lookup(`${secured}/team/entry:1`)).toEqual(want);
  });

  it('uses credentials from an auth file', async () => {
    const f = join(dir, 'auth.json');
    writeFileSync(f, JSON.stringify({ auths: { [secured]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const src = new RegistrySource({ credentials: loadCredentials([f]) });
    expect((await src.lookup(`${secured}/team/entry:1`)).entrypoint).toEqual(want.entrypoint);
  });

  it.each([
    ['no credentials', undefined, /needs credentials/],
    ['wrong password', { username: 'alice', password: 'nope' }, /refused access .*check the credentials/],
  ])('fails clearly with %s', async (_n, cred, msg) => {
    const src = new RegistrySource(cred ? { credentials: { [secured]: cred } } : {});
    await expect(src.lookup(`${secured}/team/entry:1`)).rejects.toMatchObject({ code: 'IMAGE_AUTH', message: expect.stringMatching(msg) });
  });

  it('says when the tag does not exist', async () => {
    await expect(new RegistrySource().lookup(`${open}/team/entry:nope`)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
  });

  it('says when the registry cannot be reached', async () => {
    const port = await freePort();
    await expect(new RegistrySource({ timeoutMs: 2000 }).lookup(`127.0.0.1:${port}/x:1`)).rejects.toMatchObject({ code: 'IMAGE_UNREACHABLE' });
  });
});

describe('PodmanSource', () => {
  it('reads a local image', async () => {
    expect(await new PodmanSource().lookup(IMAGE)).toEqual(want);
  });
  it('says when the image is not local', async () => {
    await expect(new PodmanSource().lookup('localhost/pipod-test/absent:1')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
  });
});

describe('ImageConfigResolver', () => {
  it('falls through podman to the registry and caches the answer on disk', async () => {
    const cacheFile = join(dir, 'cache', 'images.json');
    const ref = `${open}/team/entry:1`;
    const first = new ImageConfigResolver([new PodmanSource(), new RegistrySource()], { cacheFile });
    const got = await first.lookup(ref);
    expect(got).toMatchObject({ kind: 'found', source: 'registry', config: want });
    expect(existsSync(cacheFile)).toBe(true);
    // A new resolver with no working source still answers from the disk cache.
    const offline = new ImageConfigResolver([], { cacheFile });
    expect(await offline.lookup(ref)).toMatchObject({ kind: 'found', source: 'registry (cached)', config: want });
    // ...until the entry is older than the TTL.
    const later = new ImageConfigResolver([], { cacheFile, ttlMs: 1000, now: () => Date.now() + 5000 });
    expect(await later.lookup(ref)).toMatchObject({ kind: 'failed' });
  });

  it('names every source that failed', async () => {
    const r = new ImageConfigResolver([new PodmanSource(), new RegistrySource()]);
    const got = await r.lookup(`${open}/team/absent:1`);
    expect(got.kind).toBe('failed');
    expect(got.kind === 'failed' && got.message).toMatch(/^cannot resolve the entrypoint of image ".*absent:1" \(podman: .*; registry: .*\)$/);
  });
});
