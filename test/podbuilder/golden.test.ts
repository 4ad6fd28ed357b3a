// Golden files: every case in test/fixtures/<case>/ builds to exactly its
// pod.yaml and plan.json. Regenerate with UPDATE_GOLDEN=1 after reviewing the diff.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, toJson, toYaml } from '@pipod/podbuilder';
import { fixturesDir as root, loadCase } from './fixtures.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
type Obj = Record<string, unknown>;

const cases = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('golden pods and plans', () => {
  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });
  for (const name of cases) {
    it(name, () => {
      const { sources, options } = loadCase(name);
      const r = build(sources, options);
      if (r.kind !== 'ok') throw new Error(`${name} is invalid:\n${r.errors.map((e) => `${e.source}: ${e.path}: ${e.message}`).join('\n')}`);
      // The plan travels gzipped in env values; zlib's bytes may change with
      // the Node version, so the golden keeps a marker and the chunks are
      // checked by decoding them back to the plan.
      const init = ((r.pod['spec'] as Obj)['initContainers'] as Obj[])[0] as Obj;
      const env = init['env'] as { name: string; value: string }[];
      expect(JSON.parse(gunzipSync(Buffer.from(env.map((x) => x.value).join(''), 'base64')).toString('utf8'))).toEqual(r.plan);
      const marked = { ...init, env: env.map((x) => ({ name: x.name, value: '<plan.json, gzip+base64>' })) };
      const pod = toYaml({ ...r.pod, spec: { ...(r.pod['spec'] as Obj), initContainers: [marked] } });
      const plan = toJson(r.plan);
      const podFile = join(root, name, 'pod.yaml');
      const planFile = join(root, name, 'plan.json');
      if (update) {
        writeFileSync(podFile, pod);
        writeFileSync(planFile, plan);
      }
      expect(pod).toBe(readFileSync(podFile, 'utf8'));
      expect(plan).toBe(readFileSync(planFile, 'utf8'));
    });
  }
});
