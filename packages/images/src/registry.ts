/**
 * Reads an image's config through the OCI distribution API: manifest (or
 * index → the platform's manifest), then the config blob. Speaks anonymous,
 * Basic and Bearer-token auth, as registries challenge.
 */
import { PipodError } from '@pipod/plan';
import { fromImageConfigJson, type ImageConfig, type ImageConfigSource } from './config.ts';
import { isLoopback, parseReference, registryHost, type ImageReference } from './reference.ts';

/** A username/password for one registry. */
export interface RegistryCredential {
  readonly username: string;
  readonly password: string;
}

/** Options of the registry source. */
export interface RegistryOptions {
  /** Credentials by registry name as written in image references (`localhost:5000`, `docker.io`). */
  readonly credentials?: Readonly<Record<string, RegistryCredential>>;
  /** Registries spoken to over plain HTTP besides loopback ones. */
  readonly insecure?: readonly string[];
  readonly platform?: { readonly os: string; readonly architecture: string };
  /** Per request, in milliseconds. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Manifest {
  readonly mediaType?: string;
  readonly manifests?: readonly { digest: string; platform?: { os?: string; architecture?: string } }[];
  readonly config?: { digest: string };
}

/** Parses a `WWW-Authenticate` challenge into its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const sp = header.indexOf(' ');
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(sp + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1] ?? ''] = m[2] ?? '';
  return { scheme, params };
}

/** An ImageConfigSource over the OCI distribution API. */
export class RegistrySource implements ImageConfigSource {
  readonly name = 'registry';
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: RegistryOptions = {}) {}

  async lookup(image: string): Promise<ImageConfig> {
    const ref = parseReference(image);
    const manifest = await this.json<Manifest>(ref, `manifests/${ref.digest ?? ref.tag ?? 'latest'}`, MANIFEST_TYPES);
    let m = manifest;
    if (m.manifests !== undefined) {
      const want = this.opts.platform ?? { os: 'linux', architecture: 'amd64' };
      const pick = m.manifests.find((x) => x.platform?.os === want.os && x.platform?.architecture === want.architecture);
      if (pick === undefined) throw new PipodError('IMAGE_PLATFORM', `image ${image} has no ${want.os}/${want.architecture} variant`);
      m = await this.json<Manifest>(ref, `manifests/${pick.digest}`, MANIFEST_TYPES);
    }
    if (m.config?.digest === undefined) throw new PipodError('IMAGE_MANIFEST', `image ${image}: manifest has no config`);
    return fromImageConfigJson(await this.json<unknown>(ref, `blobs/${m.config.digest}`, '*/*'));
  }

  private base(ref: ImageReference): string {
    const plain = isLoopback(ref.registry) || (this.opts.insecure ?? []).includes(ref.registry);
    return `${plain ? 'http' : 'https'}://${registryHost(ref.registry)}/v2/${ref.repository}/`;
  }

  private async json<T>(ref: ImageReference, path: string, accept: string): Promise<T> {
    const url = this.base(ref) + path;
    const key = `${ref.registry}/${ref.repository}`;
    let res = await this.get(url, accept, this.tokens.get(key));
    if (res.status === 401) {
      const auth = await this.authorize(ref, res.headers.get('www-authenticate') ?? '');
      this.tokens.set(key, auth);
      res = await this.get(url, accept, auth);
    }
    if (res.status === 401 || res.status === 403) throw new PipodError('IMAGE_AUTH', `registry ${ref.registry} refused access to ${ref.repository} (HTTP ${res.status}): check the credentials`);
    if (res.status === 404) throw new PipodError('IMAGE_NOT_FOUND', `image ${ref.registry}/${ref.repository} has no ${path.replace(/s?\//, ' ')}`);
    if (!res.ok) throw new PipodError('IMAGE_REGISTRY', `registry ${ref.registry} answered HTTP ${res.status} for ${path}`);
    return (await res.json()) as T;
  }

  private async get(url: string, accept: string, auth: string | undefined): Promise<Response> {
    const f = this.opts.fetch ?? fetch;
    try {
      return await f(url, {
        headers: { accept, ...(auth !== undefined ? { authorization: auth } : {}) },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
      });
    } catch (e) {
      const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
      throw new PipodError('IMAGE_UNREACHABLE', `cannot reach registry at ${new URL(url).host}: ${why}`);
    }
  }

  /** Answers a 401 challenge: Basic with the stored credential, or a Bearer token from the realm. */
  private async authorize(ref: ImageReference, header: string): Promise<string> {
    const cred = this.opts.credentials?.[ref.registry];
    const basic = cred !== undefined ? `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` : undefined;
    const { scheme, params } = parseChallenge(header);
    if (scheme === 'basic') {
      if (basic === undefined) throw new PipodError('IMAGE_AUTH', `registry ${ref.registry} needs credentials and none were given`);
      return basic;
    }
    if (scheme !== 'bearer' || params['realm'] === undefined) throw new PipodError('IMAGE_AUTH', `registry ${ref.registry} asked for unsupported authentication "${header}"`);
    const u = new URL(params['realm']);
    if (params['service'] !== undefined) u.searchParams.set('service', params['service']);
    u.searchParams.set('scope', params['scope'] ?? `repository:${ref.repository}:pull`);
    const res = await this.get(u.toString(), 'application/json', basic);
    if (!res.ok) throw new PipodError('IMAGE_AUTH', `token service of ${ref.registry} answered HTTP ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (token === undefined) throw new PipodError('IMAGE_AUTH', `token service of ${ref.registry} returned no token`);
    return `Bearer ${token}`;
  }
}
