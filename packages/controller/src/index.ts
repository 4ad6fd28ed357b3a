/** pipod controller: reconciles delegated PipelineRuns and pipod CustomRuns, one pod per run. */
export * from './errors.ts';
export * from './status.ts';
export * from './rules.ts';
export * from './kube.ts';
export * from './build.ts';
export * from './log.ts';
export * from './metrics.ts';
export * from './leader.ts';
export * from './controller.ts';
export * from './events.ts';
export * from './cert.ts';
export * from './webhook.ts';
export * from './queue.ts';
export * from './stream.ts';
export * from './deaths.ts';
