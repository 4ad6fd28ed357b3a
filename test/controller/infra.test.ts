import { describe, expect, it } from 'vitest';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics, cancelExecCommand, jsonLogger, leaseDecision, microTime } from '@pipod/controller';

describe('leaseDecision', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const lease = (holder: string | undefined, renew: string, duration = 15) => ({ spec: { holderIdentity: holder, renewTime: new Date(renew), leaseDurationSeconds: duration } });
  it.each([
    ['no lease', undefined, 'create'],
    ['ours', lease('me', '2026-01-01T00:00:59Z'), 'renew'],
    ['ours, even when stale', lease('me', '2026-01-01T00:00:00Z'), 'renew'],
    ['released (no holder)', lease(undefined, '2026-01-01T00:00:59Z'), 'acquire'],
    ['other holder, fresh', lease('other', '2026-01-01T00:00:50Z'), 'wait'],
    ['other holder, expired', lease('other', '2026-01-01T00:00:40Z'), 'acquire'],
    ['other holder, exactly at expiry', lease('other', '2026-01-01T00:00:45Z'), 'wait'],
  ] as const)('%s → %s', (_n, l, want) => {
    expect(leaseDecision(l, 'me', now)).toBe(want);
  });
});

describe('Metrics', () => {
  it('renders Prometheus text with help, type, labels and escaping', () => {
    const m = new Metrics();
    m.define('pipod_x_total', 'counter', 'Things.');
    m.define('pipod_up', 'gauge', 'Up.');
    m.inc('pipod_x_total', { kind: 'PipelineRun' });
    m.inc('pipod_x_total', { kind: 'PipelineRun' }, 2);
    m.inc('pipod_x_total', { kind: 'a"b\\c' });
    m.set('pipod_up', 1);
    m.inc('undeclared');
    expect(m.render()).toBe([
      '# HELP pipod_up Up.', '# TYPE pipod_up gauge', 'pipod_up 1',
      '# HELP pipod_x_total Things.', '# TYPE pipod_x_total counter', 'pipod_x_total{kind="PipelineRun"} 3', 'pipod_x_total{kind="a\\"b\\\\c"} 1', '',
    ].join('\n'));
    expect(m.get('pipod_x_total', { kind: 'PipelineRun' })).toBe(3);
  });

  it('serves /metrics and /healthz over HTTP', async () => {
    const m = new Metrics();
    m.define('pipod_up', 'gauge', 'Up.');
    m.set('pipod_up', 1);
    const server = await m.serve(0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    const get = (path: string): Promise<{ status: number; body: string; type: string }> => new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      }).on('error', reject).end();
    });
    try {
      const r = await get('/metrics');
      expect(r.status).toBe(200);
      expect(r.type).toContain('text/plain; version=0.0.4');
      expect(r.body).toContain('pipod_up 1');
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/nope')).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('jsonLogger', () => {
  it('writes one JSON object per line; debug only when verbose', () => {
    const lines: string[] = [];
    const log = jsonLogger((l) => lines.push(l));
    log.log('info', 'hello', { run: 'ns/r' });
    log.log('debug', 'hidden');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(o).toMatchObject({ level: 'info', msg: 'hello', run: 'ns/r' });
    expect(typeof o['time']).toBe('string');
  });
});

describe('cancelExecCommand', () => {
  it('runs the pod\'s node through its loader and renames the file into place', () => {
    const argv = cancelExecCommand('graceful');
    expect(argv.slice(0, 4)).toEqual(['/pipod/bin/lib/ld-linux-x86-64.so.2', '--library-path', '/pipod/bin/lib', '/pipod/bin/node']);
    expect(argv[4]).toBe('-e');
    expect(argv[5]).toContain('"/pipod/run/cancel"');
    expect(argv[5]).toContain('"graceful"');
    expect(argv[5]).toContain('renameSync');
  });

  it('the script really writes the file (run with this node against a temp root)', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { execFileSync } = await import('node:child_process');
    const { Layout } = await import('@pipod/plan');
    const root = mkdtempSync(join(tmpdir(), 'pipod-cancel-'));
    const argv = cancelExecCommand('immediate', new Layout(root));
    execFileSync(process.execPath, argv.slice(4));
    expect(readFileSync(join(root, 'run', 'cancel'), 'utf8')).toBe('immediate');
  });
});

describe('microTime', () => {
  it('serializes with exactly six fraction digits, as the API server requires for Lease times', () => {
    expect(microTime(Date.parse('2026-11-22T13:54:54.809Z')).toISOString()).toBe('2026-11-22T13:54:54.809000Z');
    expect(JSON.stringify({ t: microTime(new Date('2026-01-01T00:00:00.000Z')) })).toBe('{"t":"2026-01-01T00:00:00.000000Z"}');
  });
});
