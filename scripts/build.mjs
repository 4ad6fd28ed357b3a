#!/usr/bin/env node
// Bundles the in-pod entrypoint (dependency-free, CommonJS so it runs from
// any directory) and the CLI. Fast enough to run on every install.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// node-forge (the webhook's certificates) requires Node built-ins dynamically, which an ESM bundle cannot.
const external = ['yaml', 'yargs', 'yargs/*', '@kubernetes/client-node', 'tar', 'node-forge'];

/** Every bundle the project ships: in-pod runtime, CLI, controller. */
export const bundles = [
  {
    entryPoints: [join(root, 'packages/entrypoint/src/main.ts')],
    outfile: join(root, 'packages/entrypoint/dist/entrypoint.js'),
    format: 'cjs',
    minify: true,
    external: [],
  },
  {
    entryPoints: [join(root, 'packages/cli/src/main.ts')],
    outfile: join(root, 'packages/cli/dist/pipod.mjs'),
    format: 'esm',
    minify: false,
    external,
  },
];

export async function buildAll() {
  for (const b of bundles) {
    mkdirSync(dirname(b.outfile), { recursive: true });
    await build({
      ...b,
      bundle: true,
      platform: 'node',
      target: 'node20',
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'warning',
    });
    // The packages are ES modules; a CommonJS bundle beside them needs its own marker to run in place.
    if (b.format === 'cjs') writeFileSync(join(dirname(b.outfile), 'package.json'), '{"type":"commonjs"}\n');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildAll().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
