/** What the builder needs to know about an image: how it starts. */
export interface ImageConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
}

/** Looks up an image's configuration; a typed error when it cannot. */
export interface ImageConfigSource {
  /** Short name used in error messages (`podman`, `registry`). */
  readonly name: string;
  lookup(image: string): Promise<ImageConfig>;
}

/** Reads the start-relevant part of an OCI/Docker image config JSON. */
export function fromImageConfigJson(json: unknown): ImageConfig {
  const c = (json as { config?: Record<string, unknown> } | null)?.config ?? {};
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    entrypoint: strings(c['Entrypoint']),
    cmd: strings(c['Cmd']),
    ...(typeof c['WorkingDir'] === 'string' && c['WorkingDir'] !== '' ? { workingDir: c['WorkingDir'] } : {}),
    ...(typeof c['User'] === 'string' && c['User'] !== '' ? { user: c['User'] } : {}),
  };
}
