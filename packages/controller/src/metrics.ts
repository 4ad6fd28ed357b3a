/**
 * Prometheus metrics in the text exposition format, served by a tiny HTTP
 * endpoint; counters, gauges and histograms with labels, no dependency.
 */
import { type Server, createServer } from 'node:http';

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
}

interface Histogram {
  readonly help: string;
  readonly buckets: readonly number[];
  readonly series: Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>;
}

/** Default histogram buckets in seconds: from a fast reconcile (5 ms) to a long run (1 h). */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const keyOf = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort());

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A registry of counters and gauges rendered as Prometheus text. */
export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly histograms = new Map<string, Histogram>();

  /** Declares a histogram with upper bucket bounds (idempotent). */
  defineHistogram(name: string, help: string, buckets: readonly number[] = DURATION_BUCKETS): void {
    if (!this.histograms.has(name)) this.histograms.set(name, { help, buckets: [...buckets].sort((a, b) => a - b), series: new Map() });
  }

  /** Records one observation in a histogram. */
  observe(name: string, value: number, labels: Labels = {}): void {
    const h = this.histograms.get(name);
    if (!h || !Number.isFinite(value)) return;
    const key = keyOf(labels);
    let s = h.series.get(key);
    if (!s) {
      s = { labels, counts: h.buckets.map(() => 0), sum: 0, count: 0 };
      h.series.set(key, s);
    }
    h.buckets.forEach((b, i) => { if (value <= b) (s.counts[i] as number)++; });
    s.sum += value;
    s.count++;
  }

  /** Observations so far in a histogram series (tests and logs). */
  histogram(name: string, labels: Labels = {}): { readonly count: number; readonly sum: number } | undefined {
    const s = this.histograms.get(name)?.series.get(keyOf(labels));
    return s ? { count: s.count, sum: s.sum } : undefined;
  }

  /** Declares a metric (idempotent). */
  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this.families.has(name)) this.families.set(name, { help, type, values: new Map() });
  }

  /** Adds to a counter (or gauge). */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const f = this.families.get(name);
    if (!f) return;
    const key = keyOf(labels);
    const cur = f.values.get(key);
    if (cur) cur.value += by;
    else f.values.set(key, { labels, value: by });
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels: Labels = {}): void {
    const f = this.families.get(name);
    if (!f) return;
    f.values.set(keyOf(labels), { labels, value });
  }

  /** The current value (tests and logs). */
  get(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.values.get(keyOf(labels))?.value;
  }

  /** Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const lines: string[] = [];
    const fmt = (labels: Labels, extra?: readonly [string, string]): string => {
      const l = [...Object.entries(labels), ...(extra ? [extra] : [])].map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      return l ? `{${l}}` : '';
    };
    const names = [...this.families.keys(), ...this.histograms.keys()].sort((a, b) => a.localeCompare(b));
    for (const name of names) {
      const f = this.families.get(name);
      if (f) {
        lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
        for (const { labels, value } of f.values.values()) lines.push(`${name}${fmt(labels)} ${value}`);
        continue;
      }
      const h = this.histograms.get(name) as Histogram;
      lines.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const s of h.series.values()) {
        h.buckets.forEach((b, i) => lines.push(`${name}_bucket${fmt(s.labels, ['le', String(b)])} ${s.counts[i] ?? 0}`));
        lines.push(`${name}_bucket${fmt(s.labels, ['le', '+Inf'])} ${s.count}`, `${name}_sum${fmt(s.labels)} ${s.sum}`, `${name}_count${fmt(s.labels)} ${s.count}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  /** Serves GET /metrics (and /healthz) on a port; resolves with the listening server. */
  serve(port: number, host = '0.0.0.0'): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.render());
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

/** Declares the controller's metrics on a registry. */
export function defineControllerMetrics(m: Metrics): Metrics {
  m.define('pipod_reconcile_total', 'counter', 'Reconciles by run kind and outcome.');
  m.define('pipod_pods_created_total', 'counter', 'Run pods created.');
  m.define('pipod_pods_adopted_total', 'counter', 'Run pods found existing (409 or after a restart) and adopted.');
  m.define('pipod_runs_finished_total', 'counter', 'Runs marked finished, by kind and reason.');
  m.define('pipod_status_writes_total', 'counter', 'Status writes by resource.');
  m.define('pipod_taskruns_created_total', 'counter', 'TaskRuns created.');
  m.define('pipod_cancels_delivered_total', 'counter', 'Cancel files written into run pods.');
  m.define('pipod_events_total', 'counter', 'Supervisor events read from pod logs (replays included).');
  m.define('pipod_active_runs', 'gauge', 'Runs the controller is following.');
  m.define('pipod_leader', 'gauge', '1 while this replica holds the leader Lease.');
  m.define('pipod_feature_enabled', 'gauge', '1 while enable-pipeline-in-pod is true.');
  m.define('pipod_pods_deleted_total', 'counter', 'Run pods the controller deleted, by reason.');
  m.defineHistogram('pipod_run_duration_seconds', 'Runs from start to completion, by kind and reason.');
  m.defineHistogram('pipod_reconcile_duration_seconds', 'One reconcile pass, by run kind.');
  m.defineHistogram('pipod_pod_start_duration_seconds', 'A run pod from creation until it is Running, by run kind.');
  return m;
}
