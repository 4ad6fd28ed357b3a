// Loading the golden cases of test/fixtures/<case>/.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, type ImageConfig, mapImageConfigResolver } from '@pipod/podbuilder';

/** Where the cases live. */
export const fixturesDir = join(import.meta.dirname, '../fixtures');
const root = fixturesDir;

/** Reads a case's input files and its options.json (imageConfigs become a resolver). */
export function loadCase(name: string): { sources: { name: string; text: string }[]; options: BuildOptions } {
  const dir = join(root, name);
  const sources = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'pod.yaml').sort().map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const optFile = join(dir, 'options.json');
  const raw = existsSync(optFile) ? (JSON.parse(readFileSync(optFile, 'utf8')) as BuildOptions & { imageConfigs?: Record<string, ImageConfig> }) : {};
  const { imageConfigs, ...rest } = raw;
  return { sources, options: { ...rest, ...(imageConfigs ? { imageConfigResolver: mapImageConfigResolver(imageConfigs) } : {}) } };
}

