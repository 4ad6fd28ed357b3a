/** Timeouts in Go `time.ParseDuration` syntax: the one parser lives in @pipod/plan, shared with the controller and the cli. */
export { parseDuration } from '@pipod/plan';
