/** `pipod build`: print the Pod (or the ExecutionPlan) for Tekton YAML. */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { PipodError } from '@pipod/plan';
import { withImageConfigs } from '../images.ts';
import {
  type BuildOptions, type SourceFile, type WorkspaceOverride, INPUT_LIMITS, buildEach, formatError, uniqueErrors, formatResourceExplanation, limitMessage, loadDocuments, parseWorkspaceArg, toJson, toYaml,
} from '@pipod/podbuilder';
import { EXIT_CODES_HELP } from '../exit-codes.ts';

/** Options shared by `build` and `validate`. */
export interface SourceArgs {
  readonly filename: readonly string[];
  readonly param?: readonly string[];
  readonly workspace?: readonly string[];
  readonly 'image-map'?: readonly string[];
  readonly namespace?: string;
  readonly name?: string;
  readonly 'runtime-image'?: string;
  readonly 'resolve-images': boolean;
  readonly 'pod-resources': 'containers' | 'pod';
  readonly pipeline?: string;
}

/** Declares the options shared by `build` and `validate`. */
export function sourceOptions<T>(y: Argv<T>): Argv<T & SourceArgs> {
  return y
    .option('filename', { alias: 'f', type: 'string', array: true, demandOption: true, describe: 'Tekton YAML file or directory of them (repeatable; - reads stdin)' })
    .option('pipeline', { type: 'string', describe: 'the Pipeline to start, by name, when the files hold several (and no PipelineRun)' })
    .option('param', { alias: 'p', type: 'string', array: true, describe: 'pipeline param override name=value (arrays: a,b or JSON)' })
    .option('workspace', { alias: 'w', type: 'string', array: true, describe: 'workspace binding name=emptyDir | name=hostPath=DIR | name=pvc=CLAIM | name=configMap=NAME | name=secret=NAME' })
    .option('image-map', { type: 'string', array: true, describe: 'rewrite images by prefix FROM=TO' })
    .option('namespace', { alias: 'n', type: 'string', describe: 'namespace of the run' })
    .option('name', { type: 'string', describe: 'PipelineRun name (default: the run\'s name or <pipeline>-run)' })
    .option('runtime-image', { type: 'string', describe: 'image carrying node and the pipod entrypoint' })
    .option('resolve-images', { type: 'boolean', default: true, describe: 'look up the entrypoint of images whose steps give no command (podman, then the registry)' })
    .option('pod-resources', { choices: ['containers', 'pod'] as const, default: 'containers' as const, describe: 'request the peak concurrent demand through container requests, or pod-level spec.resources (PodLevelResources)' }) as unknown as Argv<T & SourceArgs>;
}

/**
 * Reads the files named on the command line (a directory means its *.yaml,
 * *.yml and *.json files). Reading stops at the input size limits, so
 * /dev/zero or an endless pipe ends with a clean error; a read error is a
 * clean PipodError too.
 */
export async function readSources(files: readonly string[]): Promise<SourceFile[]> {
  const paths = files.flatMap((f) => (f !== '-' && isDirectory(f) ? yamlFilesOf(f) : [f]));
  const out: SourceFile[] = [];
  let total = 0;
  for (const f of paths) {
    const name = f === '-' ? '<stdin>' : f;
    const cap = Math.min(INPUT_LIMITS.fileBytes, INPUT_LIMITS.totalBytes - total);
    const r = await readCapped(f, cap);
    if (r.kind === 'failed') throw new PipodError('IO', `cannot read ${f}: ${r.why}`);
    if (r.kind === 'too-large') {
      throw new PipodError('INVALID', formatError({ source: name, path: '', message: limitMessage(cap === INPUT_LIMITS.fileBytes ? 'fileBytes' : 'totalBytes') }));
    }
    total += r.data.length;
    out.push({ name, text: r.data.toString('utf8') });
  }
  return out;
}

type Read = { readonly kind: 'read'; readonly data: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'failed'; readonly why: string };

// Reads at most `cap` bytes; one byte more means too large, and the stream is closed there.
async function readCapped(f: string, cap: number): Promise<Read> {
  const stream = f === '-' ? process.stdin : createReadStream(f);
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      n += b.length;
      if (n > cap) return { kind: 'too-large' };
      chunks.push(b);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    return { kind: 'failed', why: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message };
  } finally {
    if (stream !== process.stdin) stream.destroy();
  }
  return { kind: 'read', data: Buffer.concat(chunks) };
}

function yamlFilesOf(dir: string): string[] {
  const found = readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n)).sort().map((n) => join(dir, n));
  if (found.length === 0) throw new PipodError('IO', `${dir} is a directory without *.yaml, *.yml or *.json files`);
  return found;
}

function isDirectory(f: string): boolean {
  try {
    return statSync(f).isDirectory();
  } catch {
    return false;
  }
}

function splitPair(s: string, what: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new PipodError('USAGE', `invalid ${what} "${s}": use NAME=VALUE`);
  return [s.slice(0, i), s.slice(i + 1)];
}

/** Reads the sources and options; looks up image entrypoints first unless told not to. */
export async function prepare(a: SourceArgs): Promise<{ sources: SourceFile[]; options: BuildOptions }> {
  const read = await readSources(a.filename);
  const sources = a.pipeline !== undefined ? withPipelineRun(read, a.pipeline) : read;
  const options = buildOptions(a);
  return { sources, options: a['resolve-images'] ? await withImageConfigs(sources, options) : options };
}

/**
 * The sources plus a PipelineRun of the named Pipeline, so a file of several
 * Pipelines can start any one of them; an unknown name, or a file that already
 * says what to run, is a usage error.
 */
export function withPipelineRun(sources: readonly SourceFile[], name: string): SourceFile[] {
  const { documents } = loadDocuments(sources);
  const pipelines = documents.filter((d) => d.kind === 'Pipeline').map((d) => d.name);
  if (!pipelines.includes(name)) {
    throw new PipodError('USAGE', `--pipeline ${name}: no Pipeline of that name in the files${pipelines.length > 0 ? ` (found ${pipelines.join(', ')})` : ''}`);
  }
  const run = documents.find((d) => d.kind === 'PipelineRun' || d.kind === 'TaskRun');
  if (run !== undefined) throw new PipodError('USAGE', `--pipeline ${name}: the files already hold ${run.source}, which says what to run; drop one of the two`);
  const doc = { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: `${name}-run` }, spec: { pipelineRef: { name } } };
  return [...sources, { name: '--pipeline', text: JSON.stringify(doc) }];
}

/** Turns the shared options into BuildOptions. */
export function buildOptions(a: SourceArgs): BuildOptions {
  const params: Record<string, string> = {};
  for (const p of a.param ?? []) {
    const [k, v] = splitPair(p, 'param');
    params[k] = v;
  }
  const workspaces: Record<string, WorkspaceOverride> = {};
  for (const w of a.workspace ?? []) {
    const r = parseWorkspaceArg(w);
    if ('error' in r) throw new PipodError('USAGE', r.error);
    workspaces[r.name] = r.override;
  }
  const imageMap: Record<string, string> = {};
  for (const m of a['image-map'] ?? []) {
    const [k, v] = splitPair(m, 'image map');
    imageMap[k] = v;
  }
  return {
    params, workspaces, imageMap,
    ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
    ...(a.name !== undefined ? { runName: a.name } : {}),
    ...(a['runtime-image'] !== undefined ? { runtimeImage: a['runtime-image'] } : {}),
    podResources: { strategy: a['pod-resources'] ?? 'containers' },
  };
}

interface BuildArgs extends SourceArgs {
  readonly output: 'yaml' | 'json';
  readonly plan: boolean;
  readonly 'explain-resources': boolean;
}

/** The `build` command. */
export const buildCommand: CommandModule<object, BuildArgs> = {
  command: 'build',
  describe: 'print the Pod (or with --plan the ExecutionPlan) for Tekton YAML',
  builder: (y) => sourceOptions(y)
    .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'output format' })
    .option('plan', { type: 'boolean', default: false, describe: 'print the ExecutionPlan instead of the Pod' })
    .option('explain-resources', { type: 'boolean', default: false, describe: 'print how the pod\'s requests were reached (which tasks overlap at the peak) instead of the Pod' })
    .example('$0 build -f examples/hello.yaml', 'the Pod as YAML')
    .example('$0 build -f pipelines/ --pipeline release --plan -o json', 'the ExecutionPlan of the Pipeline named release, from a directory of YAML files')
    .example('cat pipeline.yaml | $0 build -f - --explain-resources', 'how the pod\'s requests were reached, from stdin')
    .epilog(EXIT_CODES_HELP) as unknown as Argv<BuildArgs>,
  handler: async (a) => {
    const { sources, options } = await prepare(a);
    // A file may hold several runs: each is built (and printed) in turn.
    const results = buildEach(sources, options);
    for (const w of uniqueErrors(results.flatMap((r) => r.warnings))) process.stderr.write(`warning: ${formatError(w)}\n`);
    const errors = uniqueErrors(results.flatMap((r) => (r.kind === 'invalid' ? r.errors : [])));
    const ok = results.flatMap((r) => (r.kind === 'ok' ? [r] : []));
    if (errors.length > 0 || ok.length === 0) {
      for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
      throw new PipodError('INVALID', `${errors.length} error${errors.length === 1 ? '' : 's'}; nothing built`);
    }
    if (a['explain-resources']) {
      if (a.output === 'json') process.stdout.write(toJson(ok.length === 1 ? ok[0]?.resources : ok.map((r) => r.resources)));
      else process.stdout.write(ok.map((r) => `${ok.length > 1 ? `# ${r.plan.run.pipelineRunName}\n` : ''}${formatResourceExplanation(r.resources)}`).join('\n'));
      return;
    }
    // The ConfigMaps, Secrets and ServiceAccounts of the input come first, so the output can be `kubectl create -f`'d as is.
    const docs: unknown[] = a.plan ? ok.map((r) => r.plan) : [...(ok[0]?.objects ?? []), ...ok.map((r) => r.pod)];
    process.stdout.write(printDocs(docs, a.output));
  },
};

/** One document as itself; several as multi-document YAML, or as JSON in a `v1` List (what kubectl reads). */
export function printDocs(docs: readonly unknown[], output: 'yaml' | 'json'): string {
  if (docs.length === 1) return output === 'json' ? toJson(docs[0]) : toYaml(docs[0]);
  return output === 'json' ? toJson({ apiVersion: 'v1', kind: 'List', items: docs }) : docs.map((d) => toYaml(d)).join('---\n');
}
