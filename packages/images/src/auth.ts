/**
 * Registry credentials from the auth files container tools write
 * (podman's auth.json, Docker's config.json), and from `user:password@registry` options.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RegistryCredential } from './registry.ts';

/** The auth files to read, most specific first. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env['REGISTRY_AUTH_FILE']) files.push(env['REGISTRY_AUTH_FILE']);
  if (env['XDG_RUNTIME_DIR']) files.push(join(env['XDG_RUNTIME_DIR'], 'containers/auth.json'));
  files.push(`/run/containers/${process.getuid?.() ?? 0}/auth.json`);
  files.push(join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json'));
  return files;
}

/** Reads `auths` entries from auth files; unreadable files are skipped, earlier files win. */
export function loadCredentials(files: readonly string[] = defaultAuthFiles()): Record<string, RegistryCredential> {
  const out: Record<string, RegistryCredential> = {};
  for (const f of [...files].reverse()) {
    let json: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    try {
      json = JSON.parse(readFileSync(f, 'utf8')) as typeof json;
    } catch {
      continue;
    }
    for (const [host, a] of Object.entries(json.auths ?? {})) {
      const key = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^index\.docker\.io$/, 'docker.io');
      if (a.auth !== undefined) {
        const dec = Buffer.from(a.auth, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        if (i > 0) out[key] = { username: dec.slice(0, i), password: dec.slice(i + 1) };
      } else if (a.username !== undefined && a.password !== undefined) {
        out[key] = { username: a.username, password: a.password };
      }
    }
  }
  return out;
}
