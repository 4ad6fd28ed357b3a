/**
 * Looks up, before a build, the Entrypoint/Cmd of every image whose step or
 * sidecar has neither command nor script: the local podman store first, then
 * the registry, with answers cached under ~/.cache/pipod.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageConfigResolver, PodmanSource, RegistrySource, loadCredentials, type ImageConfigSource } from '@pipod/images';
import { type BuildOptions, type ImageConfig, type SourceFile, imagesToResolve } from '@pipod/podbuilder';

/** Where registry answers are cached between runs. */
export function imageCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'pipod', 'image-configs.json');
}

/** The default sources: podman's store, then registries with the user's credentials. */
export function defaultImageSources(): ImageConfigSource[] {
  return [new PodmanSource(), new RegistrySource({ credentials: loadCredentials() })];
}

/** Returns the options with an image resolver holding every image the build needs, looked up now. */
export async function withImageConfigs(
  sources: readonly SourceFile[],
  options: BuildOptions,
  imageSources: readonly ImageConfigSource[] = defaultImageSources(),
): Promise<BuildOptions> {
  const images = imagesToResolve(sources, options);
  if (images.length === 0) return options;
  const found = await new ImageConfigResolver(imageSources, { cacheFile: imageCacheFile() }).lookupAll(images);
  return {
    ...options,
    imageConfigResolver: {
      resolve(image: string): ImageConfig | undefined {
        const r = found.get(image);
        if (r?.kind === 'failed') throw new Error(r.reasons);
        return r?.config;
      },
    },
  };
}
