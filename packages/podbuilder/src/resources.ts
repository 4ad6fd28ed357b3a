export * from './resources-quantity.ts';
export * from './resources-peak.ts';
