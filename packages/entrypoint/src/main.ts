/**
 * The in-pod entrypoint: dispatches `init`, `supervise`, `step <container>`
 * and `sidecar <container>`, and turns every error into one clear line and an
 * exit code (never a stack trace).
 */
import { Layout, PipodError, ROOT_ENV } from '@pipod/plan';
import { FsWaiter, systemClock } from './io.ts';
import { processRunner } from './runner.ts';
import { initMode } from './init.ts';
import { loadPlan, Supervisor } from './supervisor/index.ts';
import { stepMode } from './step.ts';
import { sidecarMode } from './sidecar.ts';
import { UsageError, WrapperExit } from './errors.ts';

const USAGE = 'usage: entrypoint.js init | supervise | step <container> | sidecar <container>';

async function main(argv: readonly string[]): Promise<number> {
  const layout = new Layout(process.env[ROOT_ENV] ?? '/pipod');
  const [mode, container] = argv;
  const needContainer = (): string => {
    if (container === undefined || container === '') throw new UsageError(`${mode} needs a container name; ${USAGE}`);
    return container;
  };
  switch (mode) {
    case 'init':
      await initMode(layout, process.env);
      return 0;
    case 'supervise': {
      const plan = loadPlan(layout);
      const waiter = new FsWaiter();
      const sup = new Supervisor(plan, { layout, waiter, clock: systemClock, emit: (line) => process.stdout.write(`${line}\n`) });
      // Pod deletion: stop the steps, still write the summary, then exit.
      process.on('SIGTERM', () => sup.requestCancel('immediate'));
      const code = await sup.run();
      waiter.close();
      return code;
    }
    case 'step':
    case 'sidecar': {
      const name = needContainer();
      const waiter = new FsWaiter();
      const deps = { layout, waiter, runner: processRunner, clock: systemClock, env: process.env };
      const code = mode === 'step' ? await stepMode(deps, name) : await sidecarMode(deps, name);
      waiter.close();
      return code;
    }
    default:
      throw new UsageError(mode === undefined ? USAGE : `unknown mode "${mode}"; ${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof WrapperExit) {
      process.stderr.write(`pipod: ${e.message}\n`);
      process.exit(e.exitCode);
    }
    if (e instanceof PipodError) {
      process.stderr.write(`pipod: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`pipod: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(70);
  },
);
