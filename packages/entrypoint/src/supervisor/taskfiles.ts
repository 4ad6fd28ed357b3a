/**
 * A task's files on the shared volume: results and step exit codes, cleared
 * before each attempt and read after it.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Layout, ParamValue, PlanTask } from '@pipod/plan';
import { mkdirp, readText, writeAtomic } from '../io.ts';
import { parseResult } from '../rules.ts';

/** Empties a task's result and step directories so an attempt never sees the last one's files. */
export function clearAttempt(layout: Layout, task: PlanTask): void {
  const clear = (dir: string): void => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      mkdirp(dir, 0o777);
    }
    // Keep the directory itself: it is the mount point of /tekton/results.
    for (const n of names) fs.rmSync(join(dir, n), { recursive: true, force: true });
  };
  clear(layout.taskResultsDir(task.id));
  for (const s of task.steps) {
    clear(layout.stepResultsDir(task.id, s.name));
    fs.rmSync(layout.stepExitCodeFile(task.id, s.name), { force: true });
  }
}

/** The task's declared results that were written, and the first one that does not match its type. */
export function readResults(layout: Layout, task: PlanTask): { results: Record<string, ParamValue>; error?: string } {
  const results: Record<string, ParamValue> = {};
  let error: string | undefined;
  for (const decl of task.results) {
    // A result taken from a step result (`value: $(steps.<s>.results.<r>)`) is that file, as Tekton copies it when the step ends.
    const from = decl.fromStep;
    const text = (from !== undefined ? readText(layout.stepResultFile(task.id, from.step, from.result)) : undefined) ?? readText(layout.taskResultFile(task.id, decl.name));
    if (text === undefined) continue;
    const parsed = parseResult(decl, text);
    if (parsed.ok) results[decl.name] = parsed.value;
    else error ??= parsed.message;
  }
  return error === undefined ? { results } : { results, error };
}

/** One step result, typed by its declaration (as written when it does not parse). */
export function readStepResult(layout: Layout, task: PlanTask, step: string, result: string): ParamValue | undefined {
  const text = readText(layout.stepResultFile(task.id, step, result));
  if (text === undefined) return undefined;
  const decl = task.steps.find((s) => s.name === step)?.results.find((r) => r.name === result);
  if (decl === undefined) return text;
  const parsed = parseResult(decl, text);
  return parsed.ok ? parsed.value : text;
}

/** Records a step's exit code where `$(steps.<step>.exitCode.path)` points. */
export function writeStepExitCode(layout: Layout, task: PlanTask, step: string, exitCode: number): void {
  try {
    writeAtomic(layout.stepExitCodeFile(task.id, step), String(exitCode));
  } catch {
    // Only later steps read it; the summary carries the code anyway.
  }
}
