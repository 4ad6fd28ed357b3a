/**
 * README command 1 on a clean Debian root (scripts/test-fresh-root.sh): a
 * root holding only what a fresh machine has clones the repository, runs
 * `bash scripts/setup.sh && npx pipod run -f examples/hello.yaml`, and then
 * shows that `pipod run` stops with the doctor's sentence when catatonit is
 * missing. Set PIPOD_SKIP_FRESH_ROOT=1 to leave it out of a local run.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer): void => { out += d.toString(); };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe.skipIf(process.env.PIPOD_SKIP_FRESH_ROOT === '1')('README command 1 on a clean Debian root', () => {
  it('setup installs everything podman needs and the hello example succeeds; without catatonit run fails with the doctor\'s sentence', async () => {
    const r = await run('bash', ['scripts/test-fresh-root.sh']);
    const tail = r.out.split('\n').slice(-60).join('\n');
    expect(r.code, tail).toBe(0);
    // setup ended with the doctor, which found everything in place.
    expect(r.out, tail).toMatch(/^podman: ready$/m);
    // README command 1's run: the pipeline's result and its status.
    expect(r.out, tail).toMatch(/^fresh-root: hello: exit 0$/m);
    expect(r.out, tail).toMatch(/greeting = hello, world/);
    // The failure of issue 19, now caught before podman: the doctor's sentence and fix.
    expect(r.out, tail).toMatch(/catatonit is not installed: podman cannot build its pause image, so no pod can start — fix: apt-get install -y catatonit$/m);
    expect(r.out, tail).toMatch(/^fresh-root: without catatonit: exit [1-9]\d*$/m);
    expect(r.out, tail).toMatch(/^fresh-root: passed$/m);
  }, 40 * 60_000);
});
