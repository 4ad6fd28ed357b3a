/** Shared contract between the pipod builder and the in-pod runtime. */
export * from './paths.ts';
export * from './plan.ts';
export * from './protocol.ts';
export * from './subst.ts';
export * from './refs.ts';
export * from './images.ts';
export * from './names.ts';
export * from './errors.ts';
export * from './kubevars.ts';
export * from './duration.ts';
