/**
 * The checks of `pipod doctor`: each prerequisite of a runtime, with what is
 * wrong and the command that fixes it. Every look at the machine goes through
 * DoctorDeps (a command runner, file reads, the cluster), so the rules are
 * tested with fakes; system.ts holds the real ones.
 */
import { DEFAULT_RUNTIME_IMAGE } from '@pipod/podbuilder';

/** What a command printed and how it ended; code 127 when it could not be started. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<ExecResult>;

/** What the kubernetes checks ask of a cluster. */
export interface ClusterProbe {
  readonly context: string;
  readonly server: string;
  readonly namespace: string;
  /** The API server's version (e.g. `v1.34.0`); throws when it cannot be reached. */
  version(): Promise<string>;
  /** Whether the namespace exists. */
  namespaceExists(namespace: string): Promise<boolean>;
  /** The image names each node holds. */
  nodeImages(): Promise<readonly { readonly node: string; readonly images: readonly string[] }[]>;
}

/** Everything the checks may look at. */
export interface DoctorDeps {
  readonly run: CommandRunner;
  /** A file's text, or undefined when it cannot be read. */
  readonly readFile: (path: string) => string | undefined;
  readonly exists: (path: string) => boolean;
  readonly uid: number;
  readonly user: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Loads the kubeconfig (the default chain when undefined); throws when it cannot. */
  readonly cluster: (kubeconfig: string | undefined) => ClusterProbe;
}

/** The runtimes the doctor knows. */
export const DOCTOR_RUNTIMES = ['podman', 'kubernetes'] as const;
export type DoctorRuntime = (typeof DOCTOR_RUNTIMES)[number];

/** One check's outcome: `fail` blocks runs, `warn` only limits them, `skip` could not be checked. */
export interface CheckResult {
  readonly id: string;
  readonly status: 'ok' | 'fail' | 'warn' | 'skip';
  /** One sentence: what was found, or what is wrong and what it breaks. */
  readonly detail: string;
  /** The command (or edit) that fixes a fail or warn. */
  readonly fix?: string;
}

/** Settings of a doctor run. */
export interface DoctorOptions {
  readonly runtimeImage?: string;
  readonly kubeconfig?: string;
  readonly namespace?: string;
  /** Also create and start a throw-away pod (podman): proves the OCI runtime, cgroups, pause image and network together. */
  readonly startPod?: boolean;
}

/** Images the examples and e2e tests use; made by scripts/test-images.sh. */
export const EXAMPLE_IMAGES = ['localhost/pipod-test/busybox:latest', 'localhost/pipod-test/debian:bookworm'] as const;

const SETUP = 'bash scripts/setup.sh';
/** Where podman 4 looks for catatonit before $PATH (containers.conf helper_binaries_dir default). */
const HELPER_DIRS = ['/usr/local/libexec/podman', '/usr/local/lib/podman', '/usr/libexec/podman', '/usr/lib/podman'];
const CONTAINERS_CONF = ['/etc/containers/containers.conf', '/usr/share/containers/containers.conf'];
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni', '/usr/local/libexec/cni', '/usr/local/lib/cni'];

const ok = (id: string, detail: string): CheckResult => ({ id, status: 'ok', detail });
const fail = (id: string, detail: string, fix: string): CheckResult => ({ id, status: 'fail', detail, fix });
const warn = (id: string, detail: string, fix: string): CheckResult => ({ id, status: 'warn', detail, fix });
const skip = (id: string, detail: string): CheckResult => ({ id, status: 'skip', detail });

/** The last meaningful line of a command's error output. */
function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/failed to connect to syslog/.test(l));
  return (lines.at(-1) ?? '').replace(/^Error: /, '');
}

/** An error's first line: parsers and HTTP clients put whole documents in their messages. */
function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}

/** The first existing `dir/name`, searching the directories and then $PATH. */
function findBinary(d: DoctorDeps, name: string, dirs: readonly string[] = []): string | undefined {
  const path = (d.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((p) => p !== '');
  return [...dirs, ...path, '/usr/sbin', '/sbin'].map((dir) => `${dir}/${name}`).find((p) => d.exists(p));
}

/** A key's value in containers.conf files (user's first, then system), quotes removed. */
export function containersConf(d: DoctorDeps, section: string, key: string): string | undefined {
  const home = d.env['HOME'];
  const files = [...(home !== undefined && d.uid !== 0 ? [`${home}/.config/containers/containers.conf`] : []), ...CONTAINERS_CONF];
  for (const f of files) {
    const text = d.readFile(f);
    if (text === undefined) continue;
    let inSection = false;
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      const sec = /^\[([^\]]+)\]$/.exec(line);
      if (sec) { inSection = sec[1]!.trim() === section; continue; }
      const kv = inSection ? new RegExp(`^${key}\\s*=\\s*(.*)$`).exec(line) : null;
      if (kv) return kv[1]!.trim().replace(/^["']|["']$/g, '');
    }
  }
  return undefined;
}

/** Fields of `podman info --format json` the checks read. */
interface PodmanInfo {
  readonly host?: {
    readonly cgroupManager?: string;
    readonly cgroupVersion?: string;
    readonly networkBackend?: string;
    readonly ociRuntime?: { readonly name?: string; readonly path?: string; readonly version?: string };
    readonly security?: { readonly rootless?: boolean };
  };
}

/** podman on $PATH, version 4 or later. */
async function checkPodman(d: DoctorDeps): Promise<{ result: CheckResult; version?: string }> {
  const r = await d.run('podman', ['version', '--format', '{{.Client.Version}}']);
  if (r.code === 127) return { result: fail('podman', 'podman is not installed: pipod runs pods with podman kube play', 'apt-get install -y podman') };
  const version = r.stdout.trim().split('\n')[0] ?? '';
  if (r.code !== 0 || !/^\d+\.\d+/.test(version)) {
    return { result: fail('podman', `podman does not answer: ${lastLine(r.stderr) || `exit ${r.code}`}`, SETUP) };
  }
  const major = Number(version.split('.')[0]);
  if (major < 4) return { result: fail('podman', `podman ${version} is too old: kube play with init containers needs podman 4 (tested with 4.3.1)`, 'apt-get install -y podman (from Debian bookworm or later)') };
  return { result: ok('podman', `podman ${version}`), version };
}

/** The OCI runtime podman uses; crun on a hybrid cgroup layout fails to start containers. */
function checkOciRuntime(d: DoctorDeps, info: PodmanInfo, hybrid: boolean): CheckResult {
  const rt = info.host?.ociRuntime;
  const name = rt?.name ?? 'unknown';
  const configured = containersConf(d, 'engine', 'runtime');
  const version = (rt?.version ?? '').split('\n')[0]?.trim() ?? '';
  if (rt?.path !== undefined && rt.path !== '' && !d.exists(rt.path)) {
    return fail('oci runtime', `${name} is configured but ${rt.path} is missing`, `apt-get install -y ${name}`);
  }
  if (name === 'crun' && hybrid) {
    return fail('oci runtime', 'crun cannot start containers on this hybrid cgroup layout (v1 controllers and a v2 mount)',
      'apt-get install -y runc and set [engine] runtime = "runc" in /etc/containers/containers.conf (bash scripts/setup.sh does both)');
  }
  return ok('oci runtime', `${version || name}${configured !== undefined ? ` (containers.conf: runtime = "${configured}")` : ''}`);
}

/** cgroups mounted, and a manager that can work on this host. */
function checkCgroups(d: DoctorDeps, info: PodmanInfo, hybrid: boolean): CheckResult {
  const v2 = d.exists('/sys/fs/cgroup/cgroup.controllers');
  const v1 = d.exists('/sys/fs/cgroup/memory') || d.exists('/sys/fs/cgroup/pids');
  if (!v1 && !v2) return fail('cgroups', 'no cgroup file system under /sys/fs/cgroup: containers cannot be limited or tracked', 'mount -t cgroup2 none /sys/fs/cgroup');
  const layout = v2 ? 'v2' : hybrid ? 'v1 (hybrid, v2 at /sys/fs/cgroup/unified)' : 'v1';
  const manager = info.host?.cgroupManager ?? 'unknown';
  if (manager === 'systemd' && !d.exists('/run/systemd/system')) {
    return fail('cgroups', `${layout} with cgroup manager systemd, but systemd is not running`, 'set [engine] cgroup_manager = "cgroupfs" in /etc/containers/containers.conf');
  }
  return ok('cgroups', `${layout}, manager ${manager}`);
}

/** Root, or rootless with subordinate ids and newuidmap. */
function checkUser(d: DoctorDeps): CheckResult {
  if (d.uid === 0) return ok('user', 'root (runs keep their files under /var/lib/pipod/runs)');
  const fix = `apt-get install -y uidmap slirp4netns && usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${d.user}`;
  const hasIds = (f: string): boolean => (d.readFile(f) ?? '').split('\n').some((l) => l.startsWith(`${d.user}:`) || l.startsWith(`${d.uid}:`));
  if (!hasIds('/etc/subuid') || !hasIds('/etc/subgid')) return fail('user', `rootless as ${d.user}, but ${d.user} has no subordinate ids in /etc/subuid and /etc/subgid`, fix);
  if (findBinary(d, 'newuidmap') === undefined) return fail('user', `rootless as ${d.user}, but newuidmap is missing`, fix);
  if (findBinary(d, 'slirp4netns') === undefined) return fail('user', `rootless as ${d.user}, but slirp4netns (the rootless pod network) is missing`, fix);
  return ok('user', `rootless as ${d.user}`);
}

/** catatonit, which podman needs to build its pause image, unless an infra image is configured or already built. */
async function checkPause(d: DoctorDeps, podmanVersion: () => Promise<string | undefined>): Promise<CheckResult> {
  const bin = findBinary(d, 'catatonit', HELPER_DIRS);
  if (bin !== undefined) return ok('pause image', `catatonit at ${bin}`);
  const infra = containersConf(d, 'engine', 'infra_image');
  if (infra !== undefined && infra !== '') return ok('pause image', `infra image ${infra} (containers.conf)`);
  const version = await podmanVersion();
  if (version !== undefined) {
    // Podman names the pause image it built localhost/podman-pause:<version>-<build time>.
    const r = await d.run('podman', ['images', '--noheading', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=localhost/podman-pause']);
    const built = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`localhost/podman-pause:${version}-`));
    if (r.code === 0 && built !== undefined) return ok('pause image', `${built} already built (catatonit is not installed)`);
  }
  return fail('pause image', 'catatonit is not installed: podman cannot build its pause image, so no pod can start', 'apt-get install -y catatonit');
}

/** The pod network: its plugins and iptables, which the bridge network needs as root. */
function checkNetwork(d: DoctorDeps, backend: string): CheckResult {
  if (backend === 'netavark') {
    if (!d.exists('/usr/lib/podman/netavark') && !d.exists('/usr/libexec/podman/netavark')) return fail('network', 'podman is set to netavark but netavark is missing', 'apt-get install -y netavark aardvark-dns');
  } else {
    const dir = CNI_DIRS.find((p) => d.exists(`${p}/bridge`));
    if (dir === undefined) return fail('network', 'the CNI plugins (bridge, portmap, firewall) are missing: podman cannot give a pod its network', 'apt-get install -y containernetworking-plugins');
  }
  if (d.uid === 0 && findBinary(d, 'iptables') === undefined) {
    return fail('network', `iptables is missing: ${backend} cannot set up the pod network's NAT and firewall rules`, 'apt-get install -y iptables');
  }
  return ok('network', `${backend}${d.uid === 0 ? ', iptables' : ''}`);
}

/** Creates, starts and removes an empty pod: what every run does first. */
async function checkPodStart(d: DoctorDeps): Promise<CheckResult> {
  const name = `pipod-doctor-${Math.random().toString(16).slice(2, 8)}`;
  try {
    const c = await d.run('podman', ['pod', 'create', '--name', name]);
    if (c.code !== 0) return fail('pod start', `podman pod create failed: ${lastLine(c.stderr)}`, `fix the checks above, then: ${SETUP}`);
    const s = await d.run('podman', ['pod', 'start', name]);
    if (s.code !== 0) return fail('pod start', `podman pod start failed: ${lastLine(s.stderr)}`, `fix the checks above, then: ${SETUP}`);
    return ok('pod start', 'an empty pod was created, started and removed');
  } finally {
    await d.run('podman', ['pod', 'rm', '-f', '-t', '0', name]);
  }
}

/** An image in podman's store. */
async function checkImage(d: DoctorDeps, id: string, image: string, missing: (image: string) => CheckResult): Promise<CheckResult> {
  const r = await d.run('podman', ['image', 'exists', image]);
  return r.code === 0 ? ok(id, `${image} present`) : missing(image);
}

/** True on a v1 host that also mounts the v2 hierarchy at /sys/fs/cgroup/unified. */
function hybridCgroups(d: DoctorDeps): boolean {
  return !d.exists('/sys/fs/cgroup/cgroup.controllers') && d.exists('/sys/fs/cgroup/unified/cgroup.controllers');
}

/** Every check of the podman runtime, in the order a run needs them. */
export async function podmanChecks(d: DoctorDeps, o: DoctorOptions = {}): Promise<CheckResult[]> {
  const { result, version } = await checkPodman(d);
  const out: CheckResult[] = [result];
  const rest = ['oci runtime', 'cgroups', 'user', 'pause image', 'network', ...(o.startPod ? ['pod start'] : []), 'runtime image', 'example images'];
  if (result.status !== 'ok') return [...out, ...rest.map((id) => skip(id, 'needs podman'))];
  const i = await d.run('podman', ['info', '--format', 'json']);
  let info: PodmanInfo = {};
  try {
    if (i.code === 0) info = JSON.parse(i.stdout) as PodmanInfo;
  } catch { /* reported below */ }
  const hybrid = hybridCgroups(d);
  if (i.code !== 0 || info.host === undefined) {
    out.push(fail('oci runtime', `podman info failed: ${lastLine(i.stderr) || `exit ${i.code}`}`, SETUP));
  } else {
    out.push(checkOciRuntime(d, info, hybrid));
  }
  out.push(checkCgroups(d, info, hybrid));
  out.push(checkUser(d));
  out.push(await checkPause(d, () => Promise.resolve(version)));
  out.push(checkNetwork(d, info.host?.networkBackend ?? 'cni'));
  if (o.startPod) {
    out.push(out.some((c) => c.status === 'fail') ? skip('pod start', 'fix the failed checks first') : await checkPodStart(d));
  }
  const image = o.runtimeImage ?? DEFAULT_RUNTIME_IMAGE;
  out.push(await checkImage(d, 'runtime image', image, (img) => fail('runtime image', `${img} is missing: every pod's init and supervisor run from it`,
    img === DEFAULT_RUNTIME_IMAGE ? 'node scripts/runtime-image.mjs --load (in the pipod checkout; bash scripts/setup.sh does it)' : `podman pull ${img}`)));
  const missing: string[] = [];
  for (const img of EXAMPLE_IMAGES) if ((await d.run('podman', ['image', 'exists', img])).code !== 0) missing.push(img);
  out.push(missing.length === 0 ? ok('example images', `${EXAMPLE_IMAGES.length} present`)
    : warn('example images', `${missing.join(', ')} missing: examples/ and the e2e tests use them`, 'bash scripts/test-images.sh'));
  return out;
}

/** Every check of the kubernetes runtime. */
export async function kubernetesChecks(d: DoctorDeps, o: DoctorOptions = {}): Promise<CheckResult[]> {
  const rest = ['cluster', 'namespace', 'runtime image'];
  const explicit = o.kubeconfig ?? d.env['KUBECONFIG'];
  const inCluster = d.env['KUBERNETES_SERVICE_HOST'] !== undefined;
  const path = explicit ?? (d.env['HOME'] !== undefined ? `${d.env['HOME']}/.kube/config` : undefined);
  const fixConfig = 'pass --kubeconfig FILE or set KUBECONFIG (for the test cluster: e2e/cluster/up)';
  if (!inCluster && (path === undefined || !d.exists(path.split(':')[0]!))) {
    return [fail('kubeconfig', `no kubeconfig at ${path ?? '~/.kube/config'}`, fixConfig), ...rest.map((id) => skip(id, 'needs a kubeconfig'))];
  }
  let probe: ClusterProbe;
  try {
    probe = d.cluster(o.kubeconfig);
  } catch (e) {
    return [fail('kubeconfig', `${path ?? 'in-cluster config'} cannot be loaded: ${firstLine(e)}`, fixConfig), ...rest.map((id) => skip(id, 'needs a kubeconfig'))];
  }
  const out: CheckResult[] = [ok('kubeconfig', `${path ?? 'in-cluster'}: context ${probe.context || '(none)'}, server ${probe.server}`)];
  try {
    out.push(ok('cluster', `Kubernetes ${await probe.version()} at ${probe.server}`));
  } catch (e) {
    return [...out, fail('cluster', `${probe.server} cannot be reached: ${firstLine(e)}`, 'start the cluster (test cluster: e2e/cluster/up), or fix the server address in the kubeconfig'),
      ...rest.slice(1).map((id) => skip(id, 'needs the cluster'))];
  }
  const ns = o.namespace ?? probe.namespace;
  try {
    out.push(await probe.namespaceExists(ns) ? ok('namespace', `${ns} exists`) : fail('namespace', `namespace ${ns} does not exist`, `kubectl create namespace ${ns}`));
  } catch (e) {
    out.push(warn('namespace', `namespace ${ns} could not be read: ${firstLine(e)}`, 'check the kubeconfig user may get namespaces and create pods'));
  }
  const image = o.runtimeImage ?? DEFAULT_RUNTIME_IMAGE;
  const local = image.startsWith('localhost/');
  try {
    const nodes = await probe.nodeImages();
    const name = image.replace(/^localhost\//, '');
    const on = nodes.filter((n) => n.images.some((i) => i === image || i.endsWith(`/${name}`)));
    if (on.length === nodes.length && nodes.length > 0) out.push(ok('runtime image', `${image} on ${on.length === 1 ? `node ${on[0]!.node}` : `all ${on.length} nodes`}`));
    else {
      const where = on.length === 0 ? 'on no node' : `on ${on.length} of ${nodes.length} nodes`;
      const fix = local ? 'load it into every node (test cluster: e2e/cluster/import-images), or push it to a registry and pass --runtime-image' : 'none needed if the nodes can pull it';
      out.push(local && on.length === 0 ? fail('runtime image', `${image} is ${where} and a localhost/ image cannot be pulled`, fix) : warn('runtime image', `${image} is ${where}`, fix));
    }
  } catch (e) {
    out.push(skip('runtime image', `nodes could not be listed: ${firstLine(e)}`));
  }
  return out;
}

/** Every check of a runtime. */
export function runChecks(runtime: DoctorRuntime, d: DoctorDeps, o: DoctorOptions = {}): Promise<CheckResult[]> {
  return runtime === 'podman' ? podmanChecks(d, o) : kubernetesChecks(d, o);
}

/** True when no check failed. */
export function healthy(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}

/** One line per check: status, name, what was found, and the fix. */
export function formatCheck(r: CheckResult): string {
  const tag = { ok: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' }[r.status];
  return `${tag}  ${r.id.padEnd(14)} ${r.detail}${r.fix !== undefined ? ` — fix: ${r.fix}` : ''}`;
}

/** The cheap checks `pipod run` makes before it starts podman: only what must hold for any pod to start, read from the file system. */
export async function preflightChecks(d: DoctorDeps): Promise<CheckResult[]> {
  if (findBinary(d, 'podman') === undefined) return [fail('podman', 'podman is not installed: pipod runs pods with podman kube play', 'apt-get install -y podman')];
  const backend = containersConf(d, 'network', 'network_backend') ?? (d.exists('/usr/lib/podman/netavark') && !CNI_DIRS.some((p) => d.exists(`${p}/bridge`)) ? 'netavark' : 'cni');
  const version = async (): Promise<string | undefined> => {
    const r = await d.run('podman', ['version', '--format', '{{.Client.Version}}']);
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  return [await checkPause(d, version), checkNetwork(d, backend)];
}
