// Golden files: every case in test/fixtures/<case>/ builds to exactly its
// pod.yaml and plan.json. Regenerate with UPDATE_GOLDEN=1 after reviewing the diff.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, toJson, toYaml } from '@pipod/podbuilder';
import { fixturesDir as root, loadCase } from './fixtures.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

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
      const pod = toYaml(r.pod);
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
