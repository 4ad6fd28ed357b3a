/**
 * The one image mapping rule (`--image-map FROM=TO`, `options.imageMap`),
 * shared by the builder and both runtimes so an image is rewritten the same
 * way wherever it is read.
 */

/** Image rewrites, FROM → TO. */
export type ImageMap = Readonly<Record<string, string>>;

/**
 * Maps an image: an exact FROM wins; otherwise the longest FROM that the
 * image starts with at a reference boundary — FROM ends with `/` (a registry
 * or repository prefix), or the image goes on with `@digest` or `:tag` (kept)
 * — is replaced by its TO. A tag-less FROM never swallows a registry port:
 * `host:5000/x` is not `host` plus a tag.
 */
export function mapImage(image: string, map: ImageMap | undefined): string {
  if (!map) return image;
  const exact = map[image];
  if (exact !== undefined) return exact;
  let best = '';
  for (const from of Object.keys(map)) {
    if (from === '' || !image.startsWith(from) || from.length <= best.length) continue;
    const rest = image.slice(from.length);
    const boundary = from.endsWith('/') || rest.startsWith('@') || (rest.startsWith(':') && !rest.includes('/'));
    if (boundary) best = from;
  }
  return best === '' ? image : `${map[best] ?? ''}${image.slice(best.length)}`;
}
