/** `pipod controller`: run the controller against the current kubeconfig (development) or in-cluster (the Deployment). */
import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { Controller, ControllerConfigError, Kube, Metrics, jsonLogger, registryImages, serveWebhook } from '@pipod/controller';

interface ControllerArgs {
  readonly kubeconfig?: string;
  readonly namespace?: string;
  readonly 'watch-namespace'?: string;
  readonly 'metrics-port': number;
  readonly 'runtime-image'?: string;
  readonly 'leader-elect': boolean;
  readonly 'webhook-port': number;
  readonly 'webhook-service': string;
  readonly 'webhook-secret': string;
  readonly 'webhook-configuration': string;
  readonly verbose: boolean;
}

/** The `controller` command. */
export const controllerCommand: CommandModule<object, ControllerArgs> = {
  command: 'controller',
  describe: 'reconcile delegated PipelineRuns and pipod CustomRuns on a cluster, one pod per run',
  builder: (y: Argv) =>
    y
      .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)' })
      .option('namespace', { alias: 'n', type: 'string', describe: 'the controller\'s namespace: feature flags and the leader Lease (default: $POD_NAMESPACE or the context\'s)' })
      .option('watch-namespace', { type: 'string', describe: 'only reconcile runs in this namespace (default: all)' })
      .option('metrics-port', { type: 'number', default: 9090, describe: 'port of the /metrics endpoint (0: off)' })
      .option('runtime-image', { type: 'string', describe: 'image carrying node and the pipod entrypoint' })
      .option('leader-elect', { type: 'boolean', default: true, describe: 'hold a Lease so only one replica reconciles' })
      .option('webhook-port', { type: 'number', default: 0, describe: 'serve the delegating admission webhook (HTTPS) on this port (0: off)' })
      .option('webhook-service', { type: 'string', default: 'pipod-webhook', describe: 'the Service the API server calls the webhook through (its certificate names it)' })
      .option('webhook-secret', { type: 'string', default: 'pipod-webhook-certs', describe: 'Secret in the controller\'s namespace keeping the webhook certificate' })
      .option('webhook-configuration', { type: 'string', default: 'pipod-webhook', describe: 'MutatingWebhookConfiguration that gets the CA bundle' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'debug logs' })
      .example('$0 controller', 'reconcile runs in every namespace, with the current kubeconfig (development)')
      .example('$0 controller --watch-namespace ci --metrics-port 0', 'only namespace ci, no /metrics endpoint') as unknown as Argv<ControllerArgs>,
  handler: async (args) => {
    let kube: Kube;
    try {
      kube = Kube.load(args.kubeconfig);
      if (!kube.config.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
    } catch (e) {
      throw new ControllerConfigError(`cannot load kubeconfig${args.kubeconfig ? ` ${args.kubeconfig}` : ''}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const log = jsonLogger(undefined, args.verbose);
    const namespace = args.namespace ?? process.env['POD_NAMESPACE'] ?? kube.currentNamespace();
    const metrics = new Metrics();
    const controller = new Controller(kube, {
      namespace, identity: `${process.env['POD_NAME'] ?? hostname()}-${process.pid}`, log, metrics,
      leaderElection: args['leader-elect'], images: registryImages(),
      ...(args['watch-namespace'] ? { watchNamespace: args['watch-namespace'] } : {}),
      ...(args['runtime-image'] ? { runtimeImage: args['runtime-image'] } : {}),
    });
    const server = args['metrics-port'] > 0 ? await controller.metrics.serve(args['metrics-port']) : undefined;
    log.log('info', 'pipod controller starting', { namespace, watchNamespace: args['watch-namespace'] ?? '*', metricsPort: args['metrics-port'], server: kube.config.getCurrentCluster()?.server });
    await controller.start();
    const watchNamespace = args['watch-namespace'];
    const webhook = args['webhook-port'] > 0
      ? await serveWebhook(kube, {
        namespace, service: args['webhook-service'], secret: args['webhook-secret'], configuration: args['webhook-configuration'],
        port: args['webhook-port'], log, metrics, facts: () => ({ enabled: controller.enabled, ...(watchNamespace ? { watchNamespace } : {}) }),
      })
      : undefined;
    if (webhook) log.log('info', 'admission webhook serving', { port: args['webhook-port'], service: `${args['webhook-service']}.${namespace}.svc` });
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        log.log('info', 'pipod controller stopping', {});
        webhook?.stop();
        void controller.stop().finally(() => {
          server?.close();
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  },
};
