/**
 * `pipod run`: build the Pod for Tekton YAML and run it (podman on this host,
 * or a Kubernetes cluster), streaming progress and ending with the summary;
 * the run is recorded in the local run store for `pipod logs`/`describe`.
 * Exit code 0 exactly when the pipeline succeeded (see exit-codes.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { PLAN_ENV_PREFIX, PipodError, type ExecutionPlan, type RunEvent, type RunSummary } from '@pipod/plan';
import { DEADLINE_MARGIN_S, build, buildEach, encodePlan, formatError, parseDuration, runsOf, uniqueErrors } from '@pipod/podbuilder';
import { type SourceArgs, prepare, sourceOptions } from './build.ts';
import { RUNTIMES, createRuntime, staleRuntimeImageWarning, type KubePod, type LogLine, type RunPhase } from '../runtime/index.ts';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from '../exit-codes.ts';
import { LiveRenderer, isEventDebris } from '../render/live.ts';
import { TailCollector, buildReport } from '../render/report.ts';
import { summaryText } from '../render/summary.ts';
import { colorFor, isLive } from '../render/terminal.ts';
import { RunStore, type RunWriter } from '../runstore/store.ts';
import { preflight } from '../doctor/index.ts';

interface RunArgs extends SourceArgs {
  readonly runtime: (typeof RUNTIMES)[number];
  readonly timeout?: string;
  readonly 'start-timeout'?: string;
  readonly logs: boolean;
  readonly output: 'text' | 'json';
  readonly keep: boolean;
  readonly kubeconfig?: string;
}

/**
 * Replaces the pipeline timeout in the plan, the plan copy the init container
 * decodes, and the pod's deadline; task and finally budgets that no longer
 * fit are dropped, as Tekton requires them to fit inside the pipeline's.
 */
export function withPipelineTimeout(pod: KubePod, plan: ExecutionPlan, ms: number): { pod: KubePod; plan: ExecutionPlan } {
  const t = plan.timeouts;
  const tasksMs = ms > 0 && t.tasksMs !== undefined && t.tasksMs <= ms ? t.tasksMs : undefined;
  const finallyMs = ms > 0 && t.finallyMs !== undefined && t.finallyMs + (tasksMs ?? 0) <= ms ? t.finallyMs : undefined;
  const timeouts = {
    ...(ms > 0 ? { pipelineMs: ms } : {}),
    ...(tasksMs !== undefined ? { tasksMs } : {}),
    ...(finallyMs !== undefined ? { finallyMs } : {}),
  };
  const next: ExecutionPlan = { ...plan, timeouts };
  const chunks = encodePlan(next);
  const initContainers = (pod.spec.initContainers ?? []).map((c) => {
    const env = (c.env as readonly { name: string; value?: string }[] | undefined);
    if (env === undefined || !env.some((e) => e.name.startsWith(PLAN_ENV_PREFIX))) return c;
    const rest = env.filter((e) => !e.name.startsWith(PLAN_ENV_PREFIX));
    return { ...c, env: [...rest, ...chunks.map((value, i) => ({ name: `${PLAN_ENV_PREFIX}${i}`, value }))] };
  });
  const spec: Record<string, unknown> = { ...pod.spec, initContainers };
  if (ms > 0) spec.activeDeadlineSeconds = Math.ceil(ms / 1000) + DEADLINE_MARGIN_S;
  else delete spec.activeDeadlineSeconds;
  return { pod: { ...pod, spec: spec as unknown as KubePod['spec'] }, plan: next };
}

/** The prefix of a step's output line: `[task/step]`, or the container for anything else. */
export function logPrefix(l: LogLine): string {
  return l.task !== undefined ? `[${l.task}/${l.step ?? l.container}]` : `[${l.step ?? l.container}]`;
}

/** The entrypoint bundle of this checkout, from the bundled CLI (dist/) or its sources (src/commands/); undefined when installed without it. */
function checkoutBundle(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../../entrypoint/dist/entrypoint.js'), join(here, '../../../entrypoint/dist/entrypoint.js')].find((p) => existsSync(p));
}

/** What the live status line says in each phase before tasks run. */
const PHASES: Readonly<Record<RunPhase, string>> = {
  preparing: 'checking images', creating: 'creating the pod', starting: 'waiting for the pod to start', running: 'waiting for tasks', cleaning: 'cleaning up',
};

/** The `run` command. */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run a Tekton pipeline in one pod and print its summary',
  builder: (y) => sourceOptions(y)
    .option('runtime', { choices: RUNTIMES, default: 'podman' as const, describe: 'where the pod runs' })
    .option('timeout', { type: 'string', describe: 'pipeline timeout (Go duration, e.g. 10m, 1h30m; 0 = none), overrides the run\'s' })
    .option('start-timeout', { type: 'string', describe: 'kubernetes runtime: how long the pod may wait to start (scheduling, image pulls) before the run fails; default 5m' })
    .option('logs', { type: 'boolean', default: false, describe: 'print step output as it comes, prefixed [task/step] (stderr: [task/step]!); it is recorded either way' })
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text progress and summary, or exactly one JSON report (the RunSummary with step reasons, messages and log tails) on stdout' })
    .option('keep', { type: 'boolean', default: false, describe: 'leave the pod and its files in place afterwards (debugging); no later run removes them' })
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (kubernetes runtime)' })
    .example('$0 run -f examples/hello.yaml -p who=you', 'run a pipeline on podman, with a param')
    .example('$0 run -f examples/clone-build-test.yaml --logs', 'and print every step\'s output as it comes')
    .example('cat pipeline.yaml | $0 run -f - -o json', 'from stdin; one JSON report on stdout, progress on stderr')
    .example('$0 run -f pipelines/ --pipeline release --timeout 10m', 'one Pipeline of a directory of YAML files')
    .example('$0 run --runtime kubernetes -n ci -f examples/hello.yaml', 'on the current kubeconfig\'s cluster')
    .epilog(`Each run is recorded: pipod list, pipod logs RUN, pipod describe RUN read it back.\n\n${EXIT_CODES_HELP}`) as unknown as Argv<RunArgs>,
  handler: async (a) => {
    let timeoutMs: number | undefined;
    if (a.timeout !== undefined) {
      timeoutMs = parseDuration(a.timeout);
      if (timeoutMs === undefined) throw new PipodError('USAGE', `--timeout ${JSON.stringify(a.timeout)}: expected a duration such as 90s, 10m or 1h30m`);
    }
    let startTimeoutMs: number | undefined;
    if (a['start-timeout'] !== undefined) {
      startTimeoutMs = parseDuration(a['start-timeout']);
      if (startTimeoutMs === undefined || startTimeoutMs <= 0) throw new PipodError('USAGE', `--start-timeout ${JSON.stringify(a['start-timeout'])}: expected a positive duration such as 30s or 5m`);
      if (a.runtime !== 'kubernetes') throw new PipodError('USAGE', '--start-timeout applies to --runtime kubernetes only (podman starts the pod before it returns)');
    }
    // With -o json stdout carries only the report; progress goes to stderr.
    const out = a.output === 'json' ? process.stderr : process.stdout;
    const color = colorFor(out);
    const live = new LiveRenderer({ out, tty: isLive(out), color, logs: a.logs });
    const files = a.filename.map((f) => (f === '-' ? '<stdin>' : f));
    // The first line comes at once: looking up images and building can take seconds.
    live.line(color.dim(`pipod: running ${files.join(' ')}${a.pipeline !== undefined ? ` (pipeline ${a.pipeline})` : ''} on ${a.runtime}`));
    live.status('reading and building');
    let input: Awaited<ReturnType<typeof prepare>>;
    let runs: string[];
    try {
      input = await prepare(a);
      runs = runsOf(input.sources);
      if (runs.length > 1 && a.name !== undefined) throw new PipodError('USAGE', `--name names one run; the files hold ${runs.length} (${runs.join(', ')})`);
      // Every run is checked before any runs: nothing starts when one of them is invalid.
      const checked = buildEach(input.sources, input.options);
      for (const w of uniqueErrors(checked.flatMap((r) => r.warnings))) process.stderr.write(`warning: ${formatError(w)}\n`);
      const errors = uniqueErrors(checked.flatMap((r) => (r.kind === 'invalid' ? r.errors : [])));
      if (errors.length > 0) {
        live.finish();
        for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
        throw new PipodError('INVALID', `${errors.length} error${errors.length === 1 ? '' : 's'}; nothing run`);
      }
      await preflight(a.runtime);
    } finally {
      live.finish();
    }
    const ctx: RunContext = { a, files, timeoutMs, startTimeoutMs, out, color };
    if (runs.length <= 1) {
      process.exitCode = await runOne(ctx, input, undefined);
      return;
    }
    // Tekton runs every run of a file; here each gets its own pod, one after another, and the exit code is the worst.
    let worst: number = EXIT.ok;
    const tally = new Map<string, number>();
    for (const [i, source] of runs.entries()) {
      out.write(`${color.dim(`pipod: run ${i + 1} of ${runs.length}: ${source}`)}\n`);
      let code: number;
      try {
        code = await runOne(ctx, input, i);
      } catch (e) {
        if (!(e instanceof PipodError)) throw e;
        process.stderr.write(`pipod: ${source}: ${e.message}\n`);
        code = exitCodeFor(e);
      }
      const what = code === EXIT.ok ? 'succeeded' : code === EXIT.runFailed ? 'did not succeed' : 'could not run';
      tally.set(what, (tally.get(what) ?? 0) + 1);
      worst = Math.max(worst, code);
    }
    out.write(`${color.dim(`pipod: ${runs.length} runs: ${[...tally].map(([w, n]) => `${n} ${w}`).join(', ')}`)}\n`);
    process.exitCode = worst;
  },
};

/** What every run of one `pipod run` shares. */
interface RunContext {
  readonly a: RunArgs;
  readonly files: readonly string[];
  readonly timeoutMs: number | undefined;
  readonly startTimeoutMs: number | undefined;
  readonly out: NodeJS.WriteStream;
  readonly color: ReturnType<typeof colorFor>;
}

/** Builds one run (the `runIndex`-th of the input, or its only one) and runs it to its summary; the exit code of its outcome. */
async function runOne(ctx: RunContext, input: Awaited<ReturnType<typeof prepare>>, runIndex: number | undefined): Promise<number> {
  const { a, files, timeoutMs, startTimeoutMs, out, color } = ctx;
  const live = new LiveRenderer({ out, tty: isLive(out), color, logs: a.logs });
  // The run's timeouts count from here, as Tekton's count from the PipelineRun's start: pod startup is part of the budget.
  const r = build(input.sources, { ...input.options, startTime: new Date().toISOString(), ...(runIndex !== undefined ? { runIndex } : {}) });
  if (r.kind === 'invalid') {
    live.finish();
    for (const e of r.errors) process.stderr.write(`${formatError(e)}\n`);
    throw new PipodError('INVALID', `${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; nothing run`);
  }
  let pod = r.pod as unknown as KubePod;
  let plan = r.plan;
  if (timeoutMs !== undefined) ({ pod, plan } = withPipelineTimeout(pod, plan, timeoutMs));

  const bundle = checkoutBundle();
  const runtimeImage = pod.spec.initContainers?.[0]?.image;
  if (a.runtime === 'podman' && bundle !== undefined && runtimeImage !== undefined) {
    const stale = staleRuntimeImageWarning(runtimeImage, bundle);
    if (stale !== undefined) process.stderr.write(`warning: ${stale}\n`);
  }
  const runtime = createRuntime(a.runtime, {
    kubernetes: {
      ...(a.kubeconfig !== undefined ? { kubeconfig: a.kubeconfig } : {}), ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
      ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
    },
  });
  const pipelineMs = plan.timeouts.pipelineMs;
  const events: RunEvent[] = [];
  const tails = new TailCollector();
  let messages: Record<string, string> = {};
  let store: RunWriter | undefined;
  live.status('starting the pod');
  // Output is always followed so the run store has it; --logs only decides whether it is printed.
  const handle = runtime.start(
    {
      pod, plan, logs: true, keep: a.keep, ...(r.objects.length > 0 ? { objects: r.objects } : {}),
      ...(pipelineMs !== undefined && pipelineMs > 0 ? { watchdogMs: pipelineMs + DEADLINE_MARGIN_S * 1000 } : {}),
    },
    {
      onEvent: (e) => {
        if (e.type !== 'run.finished') events.push(e);
        store?.event(e);
        live.event(e);
      },
      onLog: (l) => {
        if (isEventDebris(l)) return;
        tails.add(l);
        store?.log(l);
        live.log(l);
      },
      onNote: (m) => live.note(m),
      onStepMessages: (m) => { messages = { ...m }; },
      onPhase: (p) => live.status(PHASES[p]),
    },
  );
  const runRef = { id: handle.podName, pipeline: plan.run.pipelineName };
  try {
    store = new RunStore().create({
      id: handle.podName, pipeline: plan.run.pipelineName, runtime: a.runtime, files: [...files], startedAt: new Date().toISOString(), keep: a.keep,
      ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
    });
  } catch {
    store = undefined;
  }
  live.note(`run ${handle.podName}`);
  const onSignal = (): void => { void handle.cancel('graceful'); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: RunSummary;
  try {
    summary = await handle.result;
  } catch (e) {
    live.finish();
    store?.error(e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  live.finish();
  const report = buildReport(summary, { events, ...tails.inputs(), messages, run: { ...runRef, ...(store !== undefined ? { dir: store.dir } : {}) } });
  store?.finish(report);
  // -o json: one report per line, so several runs give several lines.
  if (a.output === 'json') process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${summaryText(report, { color })}\n`);
  return summary.status === 'Succeeded' ? EXIT.ok : EXIT.runFailed;
}
