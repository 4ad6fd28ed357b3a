#!/usr/bin/env node
// Runs the bundled CLI, rebuilding the bundles first when a source is newer
// (so `npx pipod` is always the code in the checkout).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bundle = join(root, 'packages/cli/dist/pipod.mjs');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = ['plan', 'podbuilder', 'entrypoint', 'controller', 'cli'].map((p) => join(root, 'packages', p, 'src')).filter(existsSync);
const stale = !existsSync(bundle) || Math.max(...sources.map(newest)) > statSync(bundle).mtimeMs;
if (stale) {
  const { buildAll } = await import(pathToFileURL(join(root, 'scripts/build.mjs')).href);
  await buildAll();
}
await import(pathToFileURL(bundle).href);
