import { describe, expect, it } from 'vitest';
import { mapImage } from '@pipod/plan';

// One rule for the builder (options.imageMap) and both runtimes (--image-map).
describe('mapImage', () => {
  it.each([
    // exact FROM wins, even over a longer prefix
    ['busybox', { busybox: 'localhost/bb:1', 'busy': 'x' }, 'localhost/bb:1'],
    // a tag-less FROM keeps the tag or digest
    ['busybox:1.36', { busybox: 'localhost/bb' }, 'localhost/bb:1.36'],
    ['busybox@sha256:abc', { busybox: 'localhost/bb' }, 'localhost/bb@sha256:abc'],
    // a registry port is not a tag
    ['registry:5000/x', { registry: 'other' }, 'registry:5000/x'],
    // a FROM ending in / is a registry or repository prefix; the longest wins
    ['docker.io/library/alpine:3', { 'docker.io/library/': 'mirror.local/lib/' }, 'mirror.local/lib/alpine:3'],
    ['docker.io/library/alpine', { 'docker.io/': 'm/', 'docker.io/library/': 'lib/' }, 'lib/alpine'],
    // a FROM that ends inside a name does not match it
    ['busyboxplus', { busybox: 'localhost/bb' }, 'busyboxplus'],
    ['docker.io/library/alpine', { 'docker.io/lib': 'x/' }, 'docker.io/library/alpine'],
    // nothing matches, or no map
    ['alpine', { busybox: 'x' }, 'alpine'],
    ['alpine', undefined, 'alpine'],
  ])('%s with %o is %s', (image, map, want) => {
    expect(mapImage(image, map)).toBe(want);
  });
});
