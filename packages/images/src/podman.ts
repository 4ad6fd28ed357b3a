/** Reads a local image's config with `podman image inspect`. */
import { execFile } from 'node:child_process';
import { PipodError } from '@pipod/plan';
import { fromImageConfigJson, type ImageConfig, type ImageConfigSource } from './config.ts';

/** Runs a program and returns its stdout; rejects with its stderr. */
export type Exec = (file: string, args: readonly string[]) => Promise<string>;

/** Exec through node:child_process. */
export const nodeExec: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || err.message));
      else resolve(stdout);
    });
  });

/** An ImageConfigSource over the local podman image store. */
export class PodmanSource implements ImageConfigSource {
  readonly name = 'podman';
  constructor(private readonly exec: Exec = nodeExec, private readonly podman = 'podman') {}

  async lookup(image: string): Promise<ImageConfig> {
    let out: string;
    try {
      out = await this.exec(this.podman, ['image', 'inspect', '--format', 'json', image]);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new PipodError(/no such image|image not known|failed to find image/i.test(msg) ? 'IMAGE_NOT_FOUND' : 'IMAGE_PODMAN', `not in the local image store (${msg.split('\n')[0]})`);
    }
    const parsed = JSON.parse(out) as unknown[];
    const first = parsed[0] as { Config?: unknown } | undefined;
    if (first === undefined) throw new PipodError('IMAGE_NOT_FOUND', 'not in the local image store');
    return fromImageConfigJson({ config: first.Config });
  }
}
