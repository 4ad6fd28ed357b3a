import { describe, expect, it } from 'vitest';
import { formatReference, isLoopback, parseChallenge, parseReference } from '@pipod/images';

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['tekton/git:v1', 'docker.io/tekton/git:v1'],
    ['localhost/pipod-test/debian:bookworm', 'localhost/pipod-test/debian:bookworm'],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000/a/b/c:t'],
    ['gcr.io/x/y@sha256:' + 'a'.repeat(64), 'gcr.io/x/y@sha256:' + 'a'.repeat(64)],
    ['quay.io/x/y:1@sha256:' + 'b'.repeat(64), 'quay.io/x/y:1@sha256:' + 'b'.repeat(64)],
  ])('%s', (ref, want) => {
    expect(formatReference(parseReference(ref))).toBe(want);
  });

  it.each([[''], ['UPPER/case'], ['a b'], ['x@sha256:123']])('rejects %j', (ref) => {
    expect(() => parseReference(ref)).toThrow(/not a valid image reference/);
  });
});

describe('registry helpers', () => {
  it('treats loopback registries as plain HTTP', () => {
    expect([isLoopback('localhost:5000'), isLoopback('127.0.0.1:1'), isLoopback('docker.io')]).toEqual([true, true, false]);
  });
  it('parses a Bearer challenge', () => {
    expect(parseChallenge('Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth/token', service: 'reg', scope: 'repository:a:pull' },
    });
  });
});
