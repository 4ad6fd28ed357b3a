/** What the terminal a stream goes to can show. */
import { type Colors, colors } from './text.ts';

/** Colours for a stream: NO_COLOR turns them off, FORCE_COLOR on, else a TTY that is not `dumb` gets them. */
export function colorFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return colors(false);
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return colors(true);
  return colors(stream.isTTY === true && env['TERM'] !== 'dumb');
}

/** True when a live status line may be drawn on the stream: a TTY, not CI, not `dumb`. */
export function isLive(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env['TERM'] !== 'dumb' && (env['CI'] === undefined || env['CI'] === '' || env['CI'] === 'false');
}
