#!/usr/bin/env node
// Builds the controller image `localhost/pipod/controller:0.1.0` without
// Docker: the CLI bundled with every dependency (one self-contained file) on
// top of the runtime image, which already carries Node and its libraries.
// Usage: node packages/controller/scripts/image.mjs [--tag NAME]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tagAt = process.argv.indexOf('--tag');
const tag = tagAt > 0 ? process.argv[tagAt + 1] : 'localhost/pipod/controller:0.1.0';
const base = process.env.PIPOD_RUNTIME_IMAGE ?? 'localhost/pipod/runtime:0.1.0';

const dir = mkdtempSync(join(tmpdir(), 'pipod-controller-image-'));
try {
  await build({
    entryPoints: [join(root, 'packages/cli/src/main.ts')],
    outfile: join(dir, 'pipod.mjs'),
    bundle: true, platform: 'node', target: 'node20', format: 'esm', minify: true, legalComments: 'none', logLevel: 'warning',
    // Some dependencies still call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __pipodRequire } from 'node:module'; const require = __pipodRequire(import.meta.url);" },
  });
  writeFileSync(join(dir, 'Containerfile'), [
    `FROM ${base}`,
    'COPY pipod.mjs /pipod-controller/pipod.mjs',
    'USER 65532:65532',
    'ENTRYPOINT ["/pipod-runtime/lib/ld-linux-x86-64.so.2", "--library-path", "/pipod-runtime/lib", "/pipod-runtime/node", "/pipod-controller/pipod.mjs"]',
    'CMD ["controller"]',
    '',
  ].join('\n'));
  execFileSync('podman', ['build', '--pull=never', '-q', '-t', tag, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(tag);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
