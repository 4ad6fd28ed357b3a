import { describe, expect, it } from 'vitest';
import { PipodError } from '@pipod/plan';
import { normalizeArgv } from '../src/argv.ts';
import { EXIT, exitCodeFor } from '../src/exit-codes.ts';
import { readSources, withPipelineRun } from '../src/commands/build.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('normalizeArgv', () => {
  it.each([
    [['run', '-f', '-'], ['run', '--filename=-']],
    [['run', '--filename', '-', '-o', 'json'], ['run', '--filename=-', '-o', 'json']],
    [['run', '-f', 'a.yaml', '-f', '-'], ['run', '-f', 'a.yaml', '--filename=-']],
    [['run', '-f', 'a.yaml'], ['run', '-f', 'a.yaml']],
    [['run', '--', '-f', '-'], ['run', '--', '-f', '-']],
  ])('%j → %j', (input, out) => {
    expect(normalizeArgv(input)).toEqual(out);
  });
});

describe('exitCodeFor', () => {
  it.each([
    ['USAGE', EXIT.invalid], ['INVALID', EXIT.invalid], ['IO', EXIT.invalid], ['NOT_FOUND', EXIT.invalid], ['UNSUPPORTED', EXIT.invalid],
    ['START', EXIT.infra], ['IMAGE', EXIT.infra], ['KUBECONFIG', EXIT.infra],
  ])('%s → %i', (code, exit) => {
    expect(exitCodeFor(new PipodError(code, 'x'))).toBe(exit);
  });

  it('an error that is not a PipodError is an internal one', () => {
    expect(exitCodeFor(new TypeError('boom'))).toBe(EXIT.infra);
  });
});

const pipeline = (name: string): string => `apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: ${name}}\nspec:\n  tasks: []\n`;

describe('withPipelineRun', () => {
  const two = [{ name: 'a.yaml', text: `${pipeline('build')}---\n${pipeline('release')}` }];

  it('adds a PipelineRun of the named Pipeline', () => {
    const out = withPipelineRun(two, 'release');
    expect(out).toHaveLength(2);
    expect(JSON.parse(out[1]?.text ?? '')).toEqual({ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'release-run' }, spec: { pipelineRef: { name: 'release' } } });
  });

  it('an unknown name lists the Pipelines there are', () => {
    expect(() => withPipelineRun(two, 'deploy')).toThrow('--pipeline deploy: no Pipeline of that name in the files (found build, release)');
  });

  it('a file that already has a PipelineRun is a usage error', () => {
    const withRun = [{ name: 'a.yaml', text: `${pipeline('build')}---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec: {pipelineRef: {name: build}}\n` }];
    expect(() => withPipelineRun(withRun, 'build')).toThrow('--pipeline build: the files already hold PipelineRun/r, which says what to run; drop one of the two');
  });
});

describe('readSources', () => {
  it('a directory without YAML files is an input error, not an empty build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipod-empty-'));
    await expect(readSources([`${dir}/`])).rejects.toThrow(`${dir}/ is a directory without *.yaml, *.yml or *.json files`);
  });
});
