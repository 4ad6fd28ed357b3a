/** The supervisor: `Supervisor.run()` and the pieces tests drive directly. */
export { Supervisor, loadPlan, runTimeSpent, type SupervisorDeps } from './supervisor.ts';
export { skipReason, startable, phaseDone, stopOutcome, stepStatus, runOutcome, afterStep, deathDone, wrapperGone, diedReason, DEFAULT_STARTUP_MS, type TaskRec, type RunFlags, type StopReason, type Phase } from './facts.ts';
export { startMessage, type ProcessSpec, type StartFields } from './mailbox.ts';
export { runtimeResolver, readsStepResult, type RunView } from './resolver.ts';
export { clearAttempt, readResults, readStepResult, writeStepExitCode } from './taskfiles.ts';
