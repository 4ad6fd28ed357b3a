/** Sidecar wrappers through the real bundle: start with their scope, probe, report ready, stop at scope end. */
import * as fs from 'node:fs';
import type { PlanProbe } from '@pipod/plan';
import { beforeAll, describe, expect, it } from 'vitest';
import { grpcHealthRequest, grpcHealthStatus } from '@pipod/entrypoint';
import { buildBundle, eventsOf, makePlan, runPlan, sidecar } from './harness.ts';

beforeAll(async () => {
  await buildBundle();
}, 60_000);

// Readiness is fatal after failureThreshold too (a sidecar never ready fails its task), so allow slow starts.
const timing = { initialDelayMs: 0, periodMs: 50, timeoutMs: 500, failureThreshold: 40, successThreshold: 1 };
const port = (): number => 20000 + Math.floor(Math.random() * 20000);

describe('sidecars', () => {
  it('a task sidecar is ready (exec probe) before the steps start and is stopped when the task ends', async () => {
    const probe: PlanProbe = { ...timing, successThreshold: 2, handler: { kind: 'exec', command: ['/bin/sh', '-c', 'test -f $PIPOD_ROOT/sc-up'] } };
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('db', 't-db', ['/bin/sh', '-c', 'sleep 0.3; touch $PIPOD_ROOT/sc-up; exec sleep 30'], { readinessProbe: probe })],
        steps: [{ name: 's', script: 'test -f $PIPOD_ROOT/sc-up' }],
      }],
    });
    const { summary, events, wrappers, run } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    const ready = eventsOf(events, 'sidecar.ready')[0];
    expect(ready).toMatchObject({ task: 't', sidecar: 'db', container: 't-db' });
    expect(Date.parse(ready?.time ?? '')).toBeLessThanOrEqual(Date.parse(eventsOf(events, 'step.started')[0]?.time ?? ''));
    const done = JSON.parse(fs.readFileSync(run.layout.doneFile('t-db', 1), 'utf8')) as { reason: string; signal?: string };
    expect(done).toMatchObject({ reason: 'Stopped', signal: 'SIGTERM' });
    expect(wrappers.get('t-db')?.code).toBe(0);
  });

  it('probes over TCP and HTTP; pipeline sidecars live for the whole run', async () => {
    const tcp = port();
    const web = tcp + 1;
    const node = process.execPath;
    const plan = makePlan({
      sidecars: [sidecar('web', 'run-web', [node, '-e', `setTimeout(()=>require('http').createServer((q,s)=>{s.statusCode=q.url==='/ok'?204:500;s.end()}).listen(${web}),200)`], {
        readinessProbe: { ...timing, handler: { kind: 'httpGet', host: '127.0.0.1', port: web, path: '/ok', scheme: 'HTTP', headers: [] } },
      })],
      tasks: [{
        name: 't',
        sidecars: [sidecar('tcp', 't-tcp', [node, '-e', `setTimeout(()=>require('net').createServer(s=>s.end()).listen(${tcp}),200)`], { startupProbe: { ...timing, failureThreshold: 40, handler: { kind: 'tcpSocket', host: '', port: tcp } } })],
        steps: [{ name: 's', command: [node, '-e', `require('net').connect(${tcp}).on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`] }],
      }],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(eventsOf(events, 'sidecar.ready').map((e) => e.container)).toEqual(['run-web', 't-tcp']);
  });

  it('a sidecar whose startup probe keeps failing fails its task', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('bad', 't-bad', ['sleep', '30'], { startupProbe: { ...timing, failureThreshold: 2, handler: { kind: 'exec', command: ['false'] } } })],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed' });
    expect(eventsOf(events, 'sidecar.failed')[0]).toMatchObject({ sidecar: 'bad' });
    expect(eventsOf(events, 'step.started')).toHaveLength(0);
  });
});

describe('sidecars and the run ending', () => {
  it('a pipeline sidecar that never gets ready does not outlive the pipeline timeout', async () => {
    const plan = makePlan({
      timeouts: { pipelineMs: 500 },
      sidecars: [sidecar('never', 'run-never', ['sleep', '30'], { readinessProbe: { ...timing, failureThreshold: 1000, handler: { kind: 'exec', command: ['false'] } } })],
      tasks: [{ name: 't', steps: [{ name: 's', script: 'true' }] }],
    });
    const { summary, wrappers } = await runPlan(plan);
    expect(summary.status).toBe('TimedOut');
    expect(summary.tasks.t).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expect(summary.durationMs).toBeLessThan(5000);
    expect(wrappers.get('run-never')?.code).toBe(0);
  });
});

// A gRPC health server in a sidecar: SERVING for "db", NOT_SERVING for anything else.
const GRPC_SERVER = (p: number): string => `
const h2 = require('http2');
setTimeout(() => h2.createServer().on('stream', (st, hd) => {
  const parts = [];
  st.on('data', (c) => parts.push(c));
  st.on('end', () => {
    const body = Buffer.concat(parts);
    const svc = body.length > 7 ? body.subarray(7).toString() : '';
    const ok = hd[':path'] === '/grpc.health.v1.Health/Check' && svc === 'db';
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.once('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    st.end(Buffer.from([0, 0, 0, 0, 2, 8, ok ? 1 : 2]));
  });
}).listen(${p}), 200);`;

describe('grpc probes and sidecars failing', () => {
  it('encodes the health request and decodes the response by hand', () => {
    expect([...grpcHealthRequest('')]).toEqual([0, 0, 0, 0, 0]);
    expect([...grpcHealthRequest('db')]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62]);
    expect(grpcHealthRequest('x'.repeat(200)).subarray(0, 8)).toEqual(Buffer.from([0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01]));
    expect(grpcHealthStatus(Buffer.from([0, 0, 0, 0, 2, 8, 1]))).toBe(1);
    expect(grpcHealthStatus(Buffer.from([0, 0, 0, 0, 0]))).toBe(0);
    expect(grpcHealthStatus(Buffer.from([0, 0, 0, 0, 5, 0x12, 1, 0x41, 8, 2]))).toBe(2);
  });

  it('a grpc readiness probe passes on SERVING and fails the task with the status after failureThreshold', async () => {
    const p = port();
    const node = process.execPath;
    const good = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('g', 't-g', [node, '-e', GRPC_SERVER(p)], { readinessProbe: { ...timing, handler: { kind: 'grpc', port: p, service: 'db' } } })],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const ok = await runPlan(good);
    expect(ok.summary.status).toBe('Succeeded');
    expect(eventsOf(ok.events, 'sidecar.ready')[0]).toMatchObject({ sidecar: 'g' });
    const q = port();
    const bad = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('g', 't-g', [node, '-e', GRPC_SERVER(q)], {
          // The startup probe waits for the server to listen (a loaded machine starts Node slowly), so the 8 failures are all NOT_SERVING.
          startupProbe: { ...timing, failureThreshold: 400, handler: { kind: 'tcpSocket', host: '', port: q } },
          readinessProbe: { ...timing, failureThreshold: 8, handler: { kind: 'grpc', port: q, service: 'other' } },
        })],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const ko = await runPlan(bad);
    expect(ko.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed' });
    expect(eventsOf(ko.events, 'sidecar.failed')[0]).toMatchObject({ sidecar: 'g', reason: 'readinessProbe failed: grpc probe: service is NOT_SERVING (8 failures in a row)' });
    expect(eventsOf(ko.events, 'step.started')).toHaveLength(0);
  });

  it('a sidecar that crashes while its task runs fails the task and stops its step', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('crash', 't-crash', ['/bin/sh', '-c', 'sleep 0.4; exit 3'])],
        steps: [{ name: 's', script: 'sleep 30' }],
      }],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed' });
    expect(eventsOf(events, 'sidecar.failed')[0]).toMatchObject({ sidecar: 'crash', reason: 'exited with code 3 while the task ran' });
    expect(summary.tasks.f).toMatchObject({ status: 'Succeeded' });
    expect(summary.tasks.t?.steps).toEqual([expect.objectContaining({ name: 's', status: 'Failed' })]);
    expect(summary.durationMs).toBeLessThan(10_000);
  });
});

describe('sidecars of one scope', () => {
  it('start together: each becomes ready only once the other runs', async () => {
    const probe = (f: string): PlanProbe => ({ ...timing, failureThreshold: 10, handler: { kind: 'exec', command: ['/bin/sh', '-c', `test -f $PIPOD_ROOT/${f}`] } });
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [
          sidecar('a', 't-a', ['/bin/sh', '-c', 'touch $PIPOD_ROOT/a-up; exec sleep 30'], { readinessProbe: probe('b-up') }),
          sidecar('b', 't-b', ['/bin/sh', '-c', 'touch $PIPOD_ROOT/b-up; exec sleep 30'], { readinessProbe: probe('a-up') }),
        ],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(eventsOf(events, 'sidecar.ready').map((e) => e.sidecar).sort()).toEqual(['a', 'b']);
  });

  it('one failing sidecar fails the scope once, and the others are stopped', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [
          sidecar('slow', 't-slow', ['sleep', '30'], { readinessProbe: { ...timing, failureThreshold: 1000, handler: { kind: 'exec', command: ['false'] } } }),
          sidecar('dies', 't-dies', ['/bin/sh', '-c', 'exit 4']),
        ],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const { summary, events, run } = await runPlan(plan);
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed' });
    expect(eventsOf(events, 'sidecar.failed')).toEqual([expect.objectContaining({ sidecar: 'dies', reason: 'exited with code 4' })]);
    expect(JSON.parse(fs.readFileSync(run.layout.doneFile('t-slow', 1), 'utf8'))).toMatchObject({ reason: 'Stopped' });
  });
});

describe('a pipeline sidecar that ends mid-run', () => {
  it('fails the run with a sidecar.failed event; the tasks still run', async () => {
    const plan = makePlan({
      sidecars: [sidecar('shared', 'run-shared', ['/bin/sh', '-c', 'sleep 0.3; exit 5'])],
      tasks: [{ name: 't', steps: [{ name: 's', script: 'sleep 1' }] }],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    expect(summary.tasks.t).toMatchObject({ status: 'Succeeded' });
    expect(eventsOf(events, 'sidecar.failed')).toEqual([expect.objectContaining({ sidecar: 'shared', reason: 'exited with code 5 while the run went on' })]);
  });
});

describe('sidecar shutdown', () => {
  it('SIGTERM first, SIGKILL once terminationGraceMs has passed', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't',
        sidecars: [sidecar('stubborn', 't-stubborn', ['/bin/sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'])],
        steps: [{ name: 's', script: 'true' }],
      }],
    });
    const { summary, run } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    const done = JSON.parse(fs.readFileSync(run.layout.doneFile('t-stubborn', 1), 'utf8')) as { reason: string; signal?: string; startedAt: string; finishedAt: string };
    expect(done).toMatchObject({ reason: 'Stopped', signal: 'SIGKILL' });
  });
});
