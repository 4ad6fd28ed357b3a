/** Image configuration lookup (entrypoint/cmd) for steps and sidecars without a command. */
export * from './config.ts';
export * from './reference.ts';
export * from './registry.ts';
export * from './podman.ts';
export * from './auth.ts';
export * from './resolve.ts';
