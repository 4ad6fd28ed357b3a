import { describe, expect, it } from 'vitest';
import { PipodError } from '@pipod/plan';
import { preflight } from '../../src/doctor/index.ts';
import {
  containersConf, formatCheck, healthy, kubernetesChecks, podmanChecks, preflightChecks,
  type CheckResult, type ClusterProbe, type DoctorDeps, type ExecResult,
} from '../../src/doctor/checks.ts';

/** A fake machine: files by path, command answers by command line; unknown commands are not installed. */
interface Machine {
  files: Record<string, string>;
  commands: Record<string, ExecResult>;
  uid: number;
  env: Record<string, string | undefined>;
  cluster?: Partial<ClusterProbe> | Error;
}

const okRun = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
const INFO = { host: { cgroupManager: 'cgroupfs', cgroupVersion: 'v1', networkBackend: 'cni', ociRuntime: { name: 'runc', path: '/usr/bin/runc', version: 'runc version 1.1.5+ds1\ncommit: x' } } };

/** This machine's kind as setup leaves it: root, podman 4.3.1 on runc, hybrid cgroups, CNI, catatonit, every image. */
function healthyMachine(): Machine {
  return {
    uid: 0,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root' },
    files: {
      '/usr/bin/podman': '', '/usr/bin/runc': '', '/usr/bin/catatonit': '', '/usr/sbin/iptables': '', '/usr/lib/cni/bridge': '',
      '/sys/fs/cgroup/memory': '', '/sys/fs/cgroup/unified/cgroup.controllers': '',
      '/etc/containers/containers.conf': '[engine]\nruntime = "runc"\n\n[containers]\ndefault_ulimits = []\n',
    },
    commands: {
      'podman version --format {{.Client.Version}}': okRun('4.3.1\n'),
      'podman info --format json': okRun(JSON.stringify(INFO)),
      'podman image exists localhost/pipod/runtime:0.1.0': okRun(),
      'podman image exists localhost/pipod-test/busybox:latest': okRun(),
      'podman image exists localhost/pipod-test/debian:bookworm': okRun(),
    },
  };
}

function deps(m: Machine, calls: string[] = []): DoctorDeps {
  return {
    run: (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      if (cmd === 'podman' && args[0] === 'pod') return Promise.resolve(m.commands[line.replace(/pipod-doctor-\w+/, 'NAME')] ?? okRun());
      if (m.commands[line]) return Promise.resolve(m.commands[line]);
      if (cmd === 'podman' && m.files['/usr/bin/podman'] !== undefined) return Promise.resolve({ code: 1, stdout: '', stderr: '' });
      return Promise.resolve({ code: 127, stdout: '', stderr: `spawn ${cmd} ENOENT` });
    },
    readFile: (p) => m.files[p],
    exists: (p) => m.files[p] !== undefined || Object.keys(m.files).some((f) => f.startsWith(`${p}/`)),
    uid: m.uid,
    user: m.uid === 0 ? 'root' : 'dev',
    env: m.env,
    cluster: () => {
      if (m.cluster instanceof Error) throw m.cluster;
      return { context: 'test', server: 'https://127.0.0.1:6443', namespace: 'default', version: () => Promise.resolve('v1.34.0'),
        namespaceExists: () => Promise.resolve(true), nodeImages: () => Promise.resolve([{ node: 'n1', images: ['localhost/pipod/runtime:0.1.0'] }]), ...m.cluster };
    },
  };
}

const byId = (rs: readonly CheckResult[]): Record<string, CheckResult> => Object.fromEntries(rs.map((r) => [r.id, r]));

describe('podman checks', () => {
  it('pass on a machine set up as setup.sh leaves it, one result per check in order', async () => {
    const rs = await podmanChecks(deps(healthyMachine()), { startPod: true });
    expect(rs.map((r) => `${r.id}:${r.status}`)).toEqual([
      'podman:ok', 'oci runtime:ok', 'cgroups:ok', 'user:ok', 'pause image:ok', 'network:ok', 'pod start:ok', 'runtime image:ok', 'example images:ok',
    ]);
    expect(byId(rs)['podman']!.detail).toBe('podman 4.3.1');
    expect(byId(rs)['oci runtime']!.detail).toBe('runc version 1.1.5+ds1 (containers.conf: runtime = "runc")');
    expect(byId(rs)['cgroups']!.detail).toBe('v1 (hybrid, v2 at /sys/fs/cgroup/unified), manager cgroupfs');
    expect(healthy(rs)).toBe(true);
  });

  const cases: { name: string; change: (m: Machine) => void; id: string; status: CheckResult['status']; detail: RegExp; fix?: string }[] = [
    { name: 'podman missing', change: (m) => { delete m.files['/usr/bin/podman']; delete m.commands['podman version --format {{.Client.Version}}']; },
      id: 'podman', status: 'fail', detail: /podman is not installed/, fix: 'apt-get install -y podman' },
    { name: 'podman 3', change: (m) => { m.commands['podman version --format {{.Client.Version}}'] = okRun('3.4.4'); },
      id: 'podman', status: 'fail', detail: /podman 3\.4\.4 is too old/, fix: 'apt-get install -y podman (from Debian bookworm or later)' },
    { name: 'podman info failing', change: (m) => { m.commands['podman info --format json'] = { code: 125, stdout: '', stderr: 'Error: database is locked\n' }; },
      id: 'oci runtime', status: 'fail', detail: /^podman info failed: database is locked$/, fix: 'bash scripts/setup.sh' },
    { name: 'crun on hybrid cgroups', change: (m) => { m.commands['podman info --format json'] = okRun(JSON.stringify({ host: { ...INFO.host, ociRuntime: { name: 'crun', path: '/usr/bin/crun', version: 'crun 1.8.1' } } })); m.files['/usr/bin/crun'] = ''; },
      id: 'oci runtime', status: 'fail', detail: /crun cannot start containers on this hybrid cgroup layout/, fix: 'apt-get install -y runc and set [engine] runtime = "runc" in /etc/containers/containers.conf (bash scripts/setup.sh does both)' },
    { name: 'configured runtime binary missing', change: (m) => { delete m.files['/usr/bin/runc']; },
      id: 'oci runtime', status: 'fail', detail: /runc is configured but \/usr\/bin\/runc is missing/, fix: 'apt-get install -y runc' },
    { name: 'no cgroup file system', change: (m) => { delete m.files['/sys/fs/cgroup/memory']; delete m.files['/sys/fs/cgroup/unified/cgroup.controllers']; },
      id: 'cgroups', status: 'fail', detail: /no cgroup file system/, fix: 'mount -t cgroup2 none /sys/fs/cgroup' },
    { name: 'systemd manager without systemd', change: (m) => { m.commands['podman info --format json'] = okRun(JSON.stringify({ host: { ...INFO.host, cgroupManager: 'systemd' } })); },
      id: 'cgroups', status: 'fail', detail: /manager systemd, but systemd is not running/, fix: 'set [engine] cgroup_manager = "cgroupfs" in /etc/containers/containers.conf' },
    { name: 'rootless without subordinate ids', change: (m) => { m.uid = 1000; m.files['/usr/bin/newuidmap'] = ''; m.files['/usr/bin/slirp4netns'] = ''; },
      id: 'user', status: 'fail', detail: /dev has no subordinate ids/, fix: 'apt-get install -y uidmap slirp4netns && usermod --add-subuids 100000-165535 --add-subgids 100000-165535 dev' },
    { name: 'rootless set up', change: (m) => { m.uid = 1000; m.files['/usr/bin/newuidmap'] = ''; m.files['/usr/bin/slirp4netns'] = ''; m.files['/etc/subuid'] = 'dev:100000:65536\n'; m.files['/etc/subgid'] = 'dev:100000:65536\n'; },
      id: 'user', status: 'ok', detail: /^rootless as dev$/ },
    { name: 'catatonit missing (the fresh machine of issue 19)', change: (m) => { delete m.files['/usr/bin/catatonit']; },
      id: 'pause image', status: 'fail', detail: /catatonit is not installed: podman cannot build its pause image/, fix: 'apt-get install -y catatonit' },
    { name: 'catatonit in podman\'s helper dir', change: (m) => { delete m.files['/usr/bin/catatonit']; m.files['/usr/libexec/podman/catatonit'] = ''; },
      id: 'pause image', status: 'ok', detail: /^catatonit at \/usr\/libexec\/podman\/catatonit$/ },
    { name: 'no catatonit but the pause image already built', change: (m) => {
      delete m.files['/usr/bin/catatonit'];
      m.commands['podman images --noheading --format {{.Repository}}:{{.Tag}} --filter reference=localhost/podman-pause'] = okRun('localhost/podman-pause:4.3.1-0\n');
    }, id: 'pause image', status: 'ok', detail: /podman-pause:4\.3\.1-0 already built/ },
    { name: 'no catatonit but an infra image configured', change: (m) => { delete m.files['/usr/bin/catatonit']; m.files['/etc/containers/containers.conf'] += '[engine]\ninfra_image = "k8s.gcr.io/pause:3.9"\n'; },
      id: 'pause image', status: 'ok', detail: /infra image k8s\.gcr\.io\/pause:3\.9/ },
    { name: 'iptables missing', change: (m) => { delete m.files['/usr/sbin/iptables']; },
      id: 'network', status: 'fail', detail: /iptables is missing/, fix: 'apt-get install -y iptables' },
    { name: 'CNI plugins missing', change: (m) => { delete m.files['/usr/lib/cni/bridge']; },
      id: 'network', status: 'fail', detail: /CNI plugins/, fix: 'apt-get install -y containernetworking-plugins' },
    { name: 'netavark backend without netavark', change: (m) => { m.commands['podman info --format json'] = okRun(JSON.stringify({ host: { ...INFO.host, networkBackend: 'netavark' } })); },
      id: 'network', status: 'fail', detail: /netavark is missing/, fix: 'apt-get install -y netavark aardvark-dns' },
    { name: 'pod start refused by the OCI runtime', change: (m) => { m.commands['podman pod start NAME'] = { code: 125, stdout: '', stderr: 'Error: OCI runtime error: runc: permission denied\n' }; },
      id: 'pod start', status: 'fail', detail: /^podman pod start failed: OCI runtime error: runc: permission denied$/, fix: 'fix the checks above, then: bash scripts/setup.sh' },
    { name: 'runtime image missing', change: (m) => { delete m.commands['podman image exists localhost/pipod/runtime:0.1.0']; },
      id: 'runtime image', status: 'fail', detail: /localhost\/pipod\/runtime:0\.1\.0 is missing/, fix: 'node scripts/runtime-image.mjs --load (in the pipod checkout; bash scripts/setup.sh does it)' },
    { name: 'an example image missing only warns', change: (m) => { delete m.commands['podman image exists localhost/pipod-test/debian:bookworm']; },
      id: 'example images', status: 'warn', detail: /^localhost\/pipod-test\/debian:bookworm missing/, fix: 'bash scripts/test-images.sh' },
  ];

  it.each(cases)('$name: $id is $status', async ({ change, id, status, detail, fix }) => {
    const m = healthyMachine();
    change(m);
    const rs = await podmanChecks(deps(m), { startPod: true });
    const r = byId(rs)[id]!;
    expect(r.status).toBe(status);
    expect(r.detail).toMatch(detail);
    expect(r.fix).toBe(fix);
    expect(healthy(rs)).toBe(status !== 'fail');
  });

  it('skips every other check when podman is missing', async () => {
    const m = healthyMachine();
    delete m.files['/usr/bin/podman'];
    delete m.commands['podman version --format {{.Client.Version}}'];
    const rs = await podmanChecks(deps(m));
    expect(rs.slice(1).map((r) => `${r.id}:${r.status}:${r.detail}`)).toEqual(
      ['oci runtime', 'cgroups', 'user', 'pause image', 'network', 'runtime image', 'example images'].map((id) => `${id}:skip:needs podman`));
  });

  it('does not start a pod when a check before it failed, and always removes the pod it made', async () => {
    const m = healthyMachine();
    delete m.files['/usr/sbin/iptables'];
    const calls: string[] = [];
    expect(byId(await podmanChecks(deps(m, calls), { startPod: true }))['pod start']!.status).toBe('skip');
    expect(calls.some((c) => c.startsWith('podman pod'))).toBe(false);
    const m2 = healthyMachine();
    m2.commands['podman pod create --name NAME'] = { code: 125, stdout: '', stderr: 'Error: no space left\n' };
    const calls2: string[] = [];
    await podmanChecks(deps(m2, calls2), { startPod: true });
    expect(calls2.filter((c) => c.startsWith('podman pod')).map((c) => c.replace(/pipod-doctor-\w+/, 'NAME'))).toEqual(['podman pod create --name NAME', 'podman pod rm -f -t 0 NAME']);
  });
});

describe('preflight (what pipod run checks before podman)', () => {
  const cases: { name: string; change: (m: Machine) => void; failed: string[] }[] = [
    { name: 'healthy machine', change: () => undefined, failed: [] },
    { name: 'catatonit missing', change: (m) => { delete m.files['/usr/bin/catatonit']; }, failed: ['pause image: catatonit is not installed: podman cannot build its pause image, so no pod can start — apt-get install -y catatonit'] },
    { name: 'podman missing', change: (m) => { delete m.files['/usr/bin/podman']; }, failed: ['podman: podman is not installed: pipod runs pods with podman kube play — apt-get install -y podman'] },
    { name: 'iptables missing', change: (m) => { delete m.files['/usr/sbin/iptables']; }, failed: ['network: iptables is missing: cni cannot set up the pod network\'s NAT and firewall rules — apt-get install -y iptables'] },
  ];
  it.each(cases)('$name', async ({ change, failed }) => {
    const m = healthyMachine();
    change(m);
    const calls: string[] = [];
    const rs = await preflightChecks(deps(m, calls));
    expect(rs.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.detail} — ${r.fix}`)).toEqual(failed);
    // Cheap: no podman call unless catatonit is missing.
    if (failed.length === 0) expect(calls).toEqual([]);
  });
});

describe('preflight()', () => {
  it('throws PREFLIGHT with the doctor\'s sentence and fix when no pod could start', async () => {
    const m = healthyMachine();
    delete m.files['/usr/bin/catatonit'];
    const e = await preflight('podman', deps(m)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PipodError);
    expect((e as PipodError).code).toBe('PREFLIGHT');
    expect((e as PipodError).message).toBe('catatonit is not installed: podman cannot build its pause image, so no pod can start — fix: apt-get install -y catatonit\n(run `npx pipod doctor` for every check)');
  });

  it('passes a healthy machine, and checks nothing for kubernetes', async () => {
    await expect(preflight('podman', deps(healthyMachine()))).resolves.toBeUndefined();
    const m = healthyMachine();
    delete m.files['/usr/bin/podman'];
    await expect(preflight('kubernetes', deps(m))).resolves.toBeUndefined();
  });
});

describe('kubernetes checks', () => {
  const cases: { name: string; change: (m: Machine) => void; expected: string[] }[] = [
    { name: 'reachable cluster with the image on its node', change: () => undefined, expected: [
      'kubeconfig:ok:/k/config: context test, server https://127.0.0.1:6443', 'cluster:ok:Kubernetes v1.34.0 at https://127.0.0.1:6443',
      'namespace:ok:default exists', 'runtime image:ok:localhost/pipod/runtime:0.1.0 on node n1'] },
    { name: 'no kubeconfig', change: (m) => { delete m.files['/k/config']; }, expected: [
      'kubeconfig:fail:no kubeconfig at /k/config', 'cluster:skip:needs a kubeconfig', 'namespace:skip:needs a kubeconfig', 'runtime image:skip:needs a kubeconfig'] },
    { name: 'kubeconfig that does not load', change: (m) => { m.cluster = new Error('invalid yaml (2:1)\n\n 1 | garbage: [\n-----^'); }, expected: [
      'kubeconfig:fail:/k/config cannot be loaded: invalid yaml (2:1)', 'cluster:skip:needs a kubeconfig', 'namespace:skip:needs a kubeconfig', 'runtime image:skip:needs a kubeconfig'] },
    { name: 'cluster down', change: (m) => { m.cluster = { version: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443')) }; }, expected: [
      'kubeconfig:ok:/k/config: context test, server https://127.0.0.1:6443', 'cluster:fail:https://127.0.0.1:6443 cannot be reached: connect ECONNREFUSED 127.0.0.1:6443',
      'namespace:skip:needs the cluster', 'runtime image:skip:needs the cluster'] },
    { name: 'namespace missing', change: (m) => { m.cluster = { namespaceExists: () => Promise.resolve(false) }; }, expected: [
      'kubeconfig:ok:/k/config: context test, server https://127.0.0.1:6443', 'cluster:ok:Kubernetes v1.34.0 at https://127.0.0.1:6443',
      'namespace:fail:namespace default does not exist', 'runtime image:ok:localhost/pipod/runtime:0.1.0 on node n1'] },
    { name: 'runtime image on no node', change: (m) => { m.cluster = { nodeImages: () => Promise.resolve([{ node: 'n1', images: ['docker.io/library/busybox:latest'] }]) }; }, expected: [
      'kubeconfig:ok:/k/config: context test, server https://127.0.0.1:6443', 'cluster:ok:Kubernetes v1.34.0 at https://127.0.0.1:6443',
      'namespace:ok:default exists', 'runtime image:fail:localhost/pipod/runtime:0.1.0 is on no node and a localhost/ image cannot be pulled'] },
    { name: 'runtime image on one of two nodes', change: (m) => { m.cluster = { nodeImages: () => Promise.resolve([{ node: 'n1', images: ['localhost/pipod/runtime:0.1.0'] }, { node: 'n2', images: [] }]) }; }, expected: [
      'kubeconfig:ok:/k/config: context test, server https://127.0.0.1:6443', 'cluster:ok:Kubernetes v1.34.0 at https://127.0.0.1:6443',
      'namespace:ok:default exists', 'runtime image:warn:localhost/pipod/runtime:0.1.0 is on 1 of 2 nodes'] },
  ];
  it.each(cases)('$name', async ({ change, expected }) => {
    const m = healthyMachine();
    m.env['KUBECONFIG'] = '/k/config';
    m.files['/k/config'] = 'apiVersion: v1';
    change(m);
    const rs = await kubernetesChecks(deps(m));
    expect(rs.map((r) => `${r.id}:${r.status}:${r.detail}`)).toEqual(expected);
    expect(rs.filter((r) => r.status === 'fail' || r.status === 'warn').every((r) => r.fix !== undefined && r.fix !== '')).toBe(true);
  });
});

describe('helpers', () => {
  it('reads a key of one section of containers.conf, ignoring comments and other sections', () => {
    const m = healthyMachine();
    m.files['/etc/containers/containers.conf'] = '[containers]\nruntime = "no"\n# [engine]\n[engine]\n  runtime = "runc" # why\n';
    expect(containersConf(deps(m), 'engine', 'runtime')).toBe('runc');
    expect(containersConf(deps(m), 'engine', 'infra_image')).toBeUndefined();
  });

  it('formats one line per check with the fix', () => {
    expect(formatCheck({ id: 'pause image', status: 'fail', detail: 'catatonit is not installed', fix: 'apt-get install -y catatonit' }))
      .toBe('FAIL  pause image    catatonit is not installed — fix: apt-get install -y catatonit');
    expect(formatCheck({ id: 'podman', status: 'ok', detail: 'podman 4.3.1' })).toBe('ok    podman         podman 4.3.1');
  });
});
