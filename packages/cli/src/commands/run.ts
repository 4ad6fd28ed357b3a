/**
 * `pipod run`: build the Pod for Tekton YAML and run it (podman on this host,
 * or a Kubernetes cluster), streaming progress and ending with the summary.
 * Exit code 0 exactly when the pipeline succeeded.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { PLAN_ENV_PREFIX, PipodError, type ExecutionPlan, type RunSummary } from '@pipod/plan';
import { DEADLINE_MARGIN_S, build, encodePlan, formatError, parseDuration } from '@pipod/podbuilder';
import { type SourceArgs, prepare, sourceOptions } from './build.ts';
import { preflight } from '../doctor/index.ts';
import { RUNTIMES, createRuntime, progressLine, staleRuntimeImageWarning, summaryText, type KubePod, type LogLine } from '../runtime/index.ts';

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

/** The `run` command. */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run a Tekton pipeline in one pod and print its summary',
  builder: (y) => sourceOptions(y)
    .option('runtime', { choices: RUNTIMES, default: 'podman' as const, describe: 'where the pod runs' })
    .option('timeout', { type: 'string', describe: 'pipeline timeout (Go duration, e.g. 10m, 1h30m; 0 = none), overrides the run\'s' })
    .option('start-timeout', { type: 'string', describe: 'kubernetes runtime: how long the pod may wait to start (scheduling, image pulls) before the run fails; default 5m' })
    .option('logs', { type: 'boolean', default: false, describe: 'stream step output, prefixed by task/step' })
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text progress and summary, or exactly one JSON RunSummary on stdout' })
    .option('keep', { type: 'boolean', default: false, describe: 'leave the pod and its files in place afterwards (debugging)' })
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (kubernetes runtime)' }) as unknown as Argv<RunArgs>,
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
    const { sources, options } = await prepare(a);
    // The run's timeouts count from here, as Tekton's count from the PipelineRun's start: pod startup is part of the budget.
    const r = build(sources, { ...options, startTime: new Date().toISOString() });
    for (const w of r.warnings) process.stderr.write(`warning: ${formatError(w)}\n`);
    if (r.kind === 'invalid') {
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
    await preflight(a.runtime);
    const runtime = createRuntime(a.runtime, {
      kubernetes: {
        ...(a.kubeconfig !== undefined ? { kubeconfig: a.kubeconfig } : {}), ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
        ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
      },
    });
    // With -o json stdout carries only the summary; progress goes to stderr.
    const out = a.output === 'json' ? process.stderr : process.stdout;
    const pipelineMs = plan.timeouts.pipelineMs;
    const handle = runtime.start(
      { pod, plan, logs: a.logs, keep: a.keep, ...(pipelineMs !== undefined && pipelineMs > 0 ? { watchdogMs: pipelineMs + DEADLINE_MARGIN_S * 1000 } : {}) },
      {
        onEvent: (e) => {
          const line = progressLine(e);
          if (line !== undefined) out.write(`${line}\n`);
        },
        onLog: (l) => out.write(`${logPrefix(l)} ${l.text}\n`),
        onNote: (m) => process.stderr.write(`pipod: ${m}\n`),
      },
    );
    const onSignal = (): void => { void handle.cancel('graceful'); };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let summary: RunSummary;
    try {
      summary = await handle.result;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (a.output === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${summaryText(summary)}\n`);
    process.exitCode = summary.status === 'Succeeded' ? 0 : 1;
  },
};
