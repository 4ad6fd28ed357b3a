/** Sidecar wrappers through the real bundle: start with their scope, probe, report ready, stop at scope end. */
import * as fs from 'node:fs';
import type { PlanProbe } from '@pipod/plan';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, eventsOf, makePlan, runPlan, sidecar } from './harness.ts';

beforeAll(async () => {
  await buildBundle();
}, 60_000);

const timing = { initialDelayMs: 0, periodMs: 50, timeoutMs: 500, failureThreshold: 3, successThreshold: 1 };
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
      sidecars: [sidecar('never', 'run-never', ['sleep', '30'], { readinessProbe: { ...timing, handler: { kind: 'exec', command: ['false'] } } })],
      tasks: [{ name: 't', steps: [{ name: 's', script: 'true' }] }],
    });
    const { summary, wrappers } = await runPlan(plan);
    expect(summary.status).toBe('TimedOut');
    expect(summary.tasks.t).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expect(summary.durationMs).toBeLessThan(5000);
    expect(wrappers.get('run-never')?.code).toBe(0);
  });
});
