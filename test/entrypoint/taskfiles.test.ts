// The supervisor reads and clears files a task's steps can write. A step
// must not point it at another task's files (symlinks) or hang it (a FIFO).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout, type PlanTask } from '@pipod/plan';
import { clearAttempt, createRunDirs, readResults, readStepResult, writeAtomic, writeStepExitCode } from '@pipod/entrypoint';
import { makePlan } from './harness.ts';

const plan = makePlan({
  tasks: [
    { name: 'evil', steps: [{ name: 's', script: 'true', results: [{ name: 'r', type: 'string' }] }], results: [{ name: 'token', type: 'string' }] },
    { name: 'victim', steps: [{ name: 's', script: 'true', results: [{ name: 'r', type: 'string' }] }], results: [{ name: 'token', type: 'string' }] },
  ],
});
const [evil, victim] = plan.tasks as [PlanTask, PlanTask];

function setup(): Layout {
  const layout = new Layout(fs.mkdtempSync(join(tmpdir(), 'pipod-taskfiles-')));
  createRunDirs(layout, plan);
  fs.writeFileSync(layout.taskResultFile(victim.id, 'token'), 'real');
  fs.writeFileSync(layout.stepResultFile(victim.id, 's', 'r'), 'victim step result');
  fs.writeFileSync(layout.stepExitCodeFile(victim.id, 's'), '0');
  return layout;
}

const victimFiles = (l: Layout): Record<string, string> => ({
  token: fs.readFileSync(l.taskResultFile(victim.id, 'token'), 'utf8'),
  step: fs.readFileSync(l.stepResultFile(victim.id, 's', 'r'), 'utf8'),
  exitCode: fs.readFileSync(l.stepExitCodeFile(victim.id, 's'), 'utf8'),
});

describe('task files a step planted', () => {
  it('a result that links to another task\'s result is refused, not read', () => {
    const l = setup();
    fs.symlinkSync(l.taskResultFile(victim.id, 'token'), l.taskResultFile(evil.id, 'token'));
    expect(readResults(l, evil)).toEqual({ results: {}, error: 'result "token" is a symbolic link' });
  });

  it('a FIFO as a result is refused at once instead of hanging the supervisor', () => {
    const l = setup();
    execFileSync('mkfifo', [l.taskResultFile(evil.id, 'token')]);
    expect(readResults(l, evil)).toEqual({ results: {}, error: 'result "token" is not a regular file' });
  });

  it('a step directory swapped for a link to another task\'s is neither read, cleared nor written through', () => {
    const l = setup();
    fs.rmSync(l.stepDir(evil.id, 's'), { recursive: true });
    fs.symlinkSync(l.stepDir(victim.id, 's'), l.stepDir(evil.id, 's'));
    expect(readStepResult(l, evil, 's', 'r')).toBeUndefined();
    writeStepExitCode(l, evil, 's', 7);
    expect(victimFiles(l)).toEqual({ token: 'real', step: 'victim step result', exitCode: '0' });
    // The link was replaced by the task's own directory, holding its own exit code.
    expect(fs.lstatSync(l.stepDir(evil.id, 's')).isDirectory()).toBe(true);
    expect(fs.readFileSync(l.stepExitCodeFile(evil.id, 's'), 'utf8')).toBe('7');
    fs.rmSync(l.stepDir(evil.id, 's'), { recursive: true });
    fs.symlinkSync(l.stepDir(victim.id, 's'), l.stepDir(evil.id, 's'));
    clearAttempt(l, evil);
    expect(victimFiles(l)).toEqual({ token: 'real', step: 'victim step result', exitCode: '0' });
    expect(fs.readdirSync(l.stepResultsDir(evil.id, 's'))).toEqual([]);
  });

  it('a results directory inside a step directory swapped for a link is not followed either', () => {
    const l = setup();
    fs.rmSync(l.stepResultsDir(evil.id, 's'), { recursive: true });
    fs.symlinkSync(l.stepResultsDir(victim.id, 's'), l.stepResultsDir(evil.id, 's'));
    expect(readStepResult(l, evil, 's', 'r')).toBeUndefined();
    clearAttempt(l, evil);
    expect(victimFiles(l)).toEqual({ token: 'real', step: 'victim step result', exitCode: '0' });
  });

  it('clearing empties nested directories and removes links without touching their targets', () => {
    const l = setup();
    fs.mkdirSync(join(l.taskResultsDir(evil.id), 'd', 'e'), { recursive: true });
    fs.writeFileSync(join(l.taskResultsDir(evil.id), 'd', 'e', 'f'), 'x');
    fs.symlinkSync(l.taskResultsDir(victim.id), join(l.taskResultsDir(evil.id), 'd', 'link'));
    fs.writeFileSync(l.taskResultFile(evil.id, 'token'), 'old');
    clearAttempt(l, evil);
    expect(fs.readdirSync(l.taskResultsDir(evil.id))).toEqual([]);
    expect(victimFiles(l)).toEqual({ token: 'real', step: 'victim step result', exitCode: '0' });
  });

  it('reads and writes its own files as before', () => {
    const l = setup();
    fs.writeFileSync(l.taskResultFile(evil.id, 'token'), 'mine');
    fs.writeFileSync(l.stepResultFile(evil.id, 's', 'r'), 'step');
    expect(readResults(l, evil)).toEqual({ results: { token: 'mine' } });
    expect(readStepResult(l, evil, 's', 'r')).toBe('step');
    writeStepExitCode(l, evil, 's', 3);
    expect(fs.readFileSync(l.stepExitCodeFile(evil.id, 's'), 'utf8')).toBe('3');
  });
});

describe('writeAtomic', () => {
  it('never writes through a link planted at a temporary name a process could guess', () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'pipod-atomic-'));
    const target = join(dir, 'target');
    fs.writeFileSync(target, 'untouched');
    // Every name of the form <pid>.<counter> this test process could use next.
    for (let n = 0; n < 2000; n++) fs.symlinkSync(target, join(dir, `.file.${process.pid}.${n}.tmp`));
    writeAtomic(join(dir, 'file'), 'data');
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched');
    expect(fs.readFileSync(join(dir, 'file'), 'utf8')).toBe('data');
    expect(fs.readdirSync(dir).filter((n) => !n.startsWith('.file.')).sort()).toEqual(['file', 'target']);
  });
});
