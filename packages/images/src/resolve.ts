/**
 * Resolves the configs of many images through an ordered list of sources,
 * with a cache: in memory always, on disk for registry answers (a digest
 * never changes; a tag is trusted for `ttlMs`).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PipodError } from '@pipod/plan';
import type { ImageConfig, ImageConfigSource } from './config.ts';

/** One image's outcome. */
export type ImageLookup =
  | { readonly kind: 'found'; readonly config: ImageConfig; readonly source: string }
  | { readonly kind: 'failed'; readonly message: string; readonly reasons: string };

interface CacheEntry {
  readonly config: ImageConfig;
  readonly source: string;
  readonly at: number;
}

/** Options of the resolver. */
export interface ResolverOptions {
  /** JSON file that keeps registry answers between runs. */
  readonly cacheFile?: string;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** Resolves image configs through sources in order, caching answers. */
export class ImageConfigResolver {
  private readonly memory = new Map<string, ImageLookup>();
  private disk: Record<string, CacheEntry> | undefined;

  constructor(private readonly sources: readonly ImageConfigSource[], private readonly opts: ResolverOptions = {}) {}

  /** Looks up one image; never throws for lookup failures (they come back as `failed`). */
  async lookup(image: string): Promise<ImageLookup> {
    const hit = this.memory.get(image) ?? this.fromDisk(image);
    if (hit !== undefined) return hit;
    const why: string[] = [];
    for (const s of this.sources) {
      try {
        const config = await s.lookup(image);
        const found: ImageLookup = { kind: 'found', config, source: s.name };
        this.memory.set(image, found);
        if (s.name !== 'podman') this.toDisk(image, config, s.name);
        return found;
      } catch (e) {
        if (!(e instanceof PipodError)) throw e;
        why.push(`${s.name}: ${e.message}`);
      }
    }
    const reasons = why.join('; ') || 'no image sources configured';
    const failed: ImageLookup = { kind: 'failed', message: `cannot resolve the entrypoint of image "${image}" (${reasons})`, reasons };
    this.memory.set(image, failed);
    return failed;
  }

  /** Looks up many images concurrently. */
  async lookupAll(images: Iterable<string>): Promise<Map<string, ImageLookup>> {
    const uniq = [...new Set(images)];
    const results = await Promise.all(uniq.map((i) => this.lookup(i)));
    return new Map(uniq.map((i, n) => [i, results[n] as ImageLookup]));
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private load(): Record<string, CacheEntry> {
    if (this.disk !== undefined) return this.disk;
    this.disk = {};
    if (this.opts.cacheFile !== undefined) {
      try {
        this.disk = JSON.parse(readFileSync(this.opts.cacheFile, 'utf8')) as Record<string, CacheEntry>;
      } catch {
        // A missing or corrupt cache is an empty one.
      }
    }
    return this.disk;
  }

  private fromDisk(image: string): ImageLookup | undefined {
    const e = this.load()[image];
    if (e === undefined) return undefined;
    const pinned = image.includes('@sha256:');
    if (!pinned && this.now() - e.at > (this.opts.ttlMs ?? 24 * 3600_000)) return undefined;
    return { kind: 'found', config: e.config, source: `${e.source} (cached)` };
  }

  private toDisk(image: string, config: ImageConfig, source: string): void {
    const file = this.opts.cacheFile;
    if (file === undefined) return;
    const all = { ...this.load(), [image]: { config, source, at: this.now() } };
    this.disk = all;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(all, null, 1));
      renameSync(`${file}.tmp`, file);
    } catch {
      // The cache is an optimisation; failing to write it loses nothing.
    }
  }
}
