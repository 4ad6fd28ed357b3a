/**
 * A task's files on the shared volume: results and step exit codes, cleared
 * before each attempt and read after it. The task's own steps can write all
 * of them, so nothing here follows a symlink a step planted: results are
 * read with O_NOFOLLOW (their directory is a mount point in the steps) and
 * step directories are reached through `pinDir`.
 */
import type { Layout, ParamValue, PlanTask } from '@pipod/plan';
import { emptyDir, inPinnedDir, readRegular, writeAtomic } from '../io.ts';
import { parseResult } from '../rules.ts';

/** Empties a task's result and step directories so an attempt never sees the last one's files. */
export function clearAttempt(layout: Layout, task: PlanTask): void {
  // Keep the results directory itself: it is the mount point of /tekton/results.
  emptyDir(layout.taskResultsDir(task.id));
  const steps = layout.stepsDir(task.id);
  for (const s of task.steps) {
    // The exit code and the step results go; the results directory is made again.
    inPinnedDir(steps, [s.name], emptyDir, true);
    inPinnedDir(steps, [s.name, 'results'], () => undefined, true);
  }
}

/** The text of a file a task wrote, or why it is refused; undefined when absent. */
function taskText(path: string, what: string): { text?: string; error?: string } {
  const r = readRegular(path);
  if (r.kind === 'ok') return { text: r.text };
  return r.kind === 'missing' ? {} : { error: `${what} ${r.why}` };
}

/** The task's declared results that were written, and the first one that does not match its type. */
export function readResults(layout: Layout, task: PlanTask): { results: Record<string, ParamValue>; error?: string } {
  const results: Record<string, ParamValue> = {};
  let error: string | undefined;
  for (const decl of task.results) {
    const { text, error: refused } = taskText(layout.taskResultFile(task.id, decl.name), `result "${decl.name}"`);
    if (refused !== undefined) error ??= refused;
    if (text === undefined) continue;
    const parsed = parseResult(decl, text);
    if (parsed.ok) results[decl.name] = parsed.value;
    else error ??= parsed.message;
  }
  return error === undefined ? { results } : { results, error };
}

/** One step result, typed by its declaration (as written when it does not parse). */
export function readStepResult(layout: Layout, task: PlanTask, step: string, result: string): ParamValue | undefined {
  const text = inPinnedDir(layout.stepsDir(task.id), [step, 'results'], (dir) => taskText(`${dir}/${result}`, 'step result').text);
  if (text === undefined) return undefined;
  const decl = task.steps.find((s) => s.name === step)?.results.find((r) => r.name === result);
  if (decl === undefined) return text;
  const parsed = parseResult(decl, text);
  return parsed.ok ? parsed.value : text;
}

/** Records a step's exit code where `$(steps.<step>.exitCode.path)` points. */
export function writeStepExitCode(layout: Layout, task: PlanTask, step: string, exitCode: number): void {
  try {
    inPinnedDir(layout.stepsDir(task.id), [step], (dir) => writeAtomic(`${dir}/exitCode`, String(exitCode)), true);
  } catch {
    // Only later steps read it; the summary carries the code anyway.
  }
}
