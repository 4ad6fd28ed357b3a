/**
 * Parsing of image references the way container engines normalise them:
 * `busybox` is `docker.io/library/busybox:latest`.
 */
import { PipodError } from '@pipod/plan';

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host as written (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** Repository path within the registry (`library/busybox`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB = 'docker.io';

/** Parses an image reference; throws a PipodError with code IMAGE_REF when it is not one. */
export function parseReference(ref: string): ImageReference {
  const m = /^(?:([^/]+)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
  if (!m || ref.trim() !== ref || ref === '') throw new PipodError('IMAGE_REF', `"${ref}" is not a valid image reference`);
  const [, first, rest, , digest] = m;
  let tag = m[3];
  let registry = DOCKER_HUB;
  let repository = rest ?? '';
  if (first !== undefined) {
    if (first.includes('.') || first.includes(':') || first === 'localhost') registry = first;
    else repository = `${first}/${repository}`;
  }
  if (!/^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/.test(repository)) {
    throw new PipodError('IMAGE_REF', `"${ref}" is not a valid image reference`);
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  const out: ImageReference = { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
  return out;
}

/** The reference in canonical form (`docker.io/library/busybox:latest`). */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** Host to talk to for a registry name (Docker Hub's API lives elsewhere). */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** Loopback registries are spoken to over plain HTTP, as container engines do. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
