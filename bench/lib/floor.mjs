// The floor no one-pod runner can beat: a bare pod with one container
// running `true`, from the create call to the container seen exited
// (podman) or the pod seen Succeeded (cluster, polled like the PipelineRuns).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from './common.mjs';

/** The image of the floor's one container (a local test image, on podman and imported into the cluster). */
export const FLOOR_IMAGE = 'localhost/pipod-test/busybox:latest';

/** The bare pod: one container, `true`, no volumes, never restarted. */
export function barePod(name) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: FLOOR_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['true'] }] },
  };
}

/** One bare pod on podman: `podman kube play`, then `podman wait` for its container; removal is not counted. */
export async function podmanFloor(name) {
  const dir = mkdtempSync(join(tmpdir(), 'pipod-floor-'));
  const file = join(dir, 'pod.yaml');
  writeFileSync(file, stringify(barePod(name)));
  const t0 = performance.now();
  try {
    const play = await run('podman', ['kube', 'play', file]);
    if (play.code !== 0) throw new Error(`podman kube play: ${play.stderr.slice(-500)}`);
    const wait = await run('podman', ['wait', `${name}-c`]);
    if (wait.code !== 0 || wait.stdout.trim() !== '0') throw new Error(`podman wait ${name}-c: exit ${wait.stdout.trim()} ${wait.stderr.slice(-300)}`);
    return { ms: performance.now() - t0 };
  } finally {
    await run('podman', ['pod', 'rm', '-f', '-t', '0', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}
