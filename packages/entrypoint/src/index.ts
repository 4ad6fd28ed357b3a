/** The in-pod runtime's building blocks (the bundle's entry is main.ts). */
export * from './io.ts';
export * from './runner.ts';
export * from './rules.ts';
export * from './errors.ts';
export { initMode, decodePlanEnv, copyTree, createRunDirs, RUNTIME_DIR_ENV } from './init.ts';
export * from './supervisor/index.ts';
export { stepMode, runOnce, waitForWork, nextStart, loadConfig, DEFAULT_SHEBANG, type WrapperDeps, type Wake } from './step.ts';
export { sidecarMode, probeOnce, probeUntil, grpcHealthRequest, grpcHealthStatus, type ProbeResult } from './sidecar.ts';
