/**
 * Prometheus metrics in the text exposition format, served by a tiny HTTP
 * endpoint; counters and gauges with labels, no dependency.
 */
import { type Server, createServer } from 'node:http';

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A registry of counters and gauges rendered as Prometheus text. */
export class Metrics {
  private readonly families = new Map<string, Family>();

  /** Declares a metric (idempotent). */
  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this.families.has(name)) this.families.set(name, { help, type, values: new Map() });
  }

  /** Adds to a counter (or gauge). */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const f = this.families.get(name);
    if (!f) return;
    const key = JSON.stringify(Object.entries(labels).sort());
    const cur = f.values.get(key);
    if (cur) cur.value += by;
    else f.values.set(key, { labels, value: by });
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels: Labels = {}): void {
    const f = this.families.get(name);
    if (!f) return;
    f.values.set(JSON.stringify(Object.entries(labels).sort()), { labels, value });
  }

  /** The current value (tests and logs). */
  get(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.values.get(JSON.stringify(Object.entries(labels).sort()))?.value;
  }

  /** Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, f] of [...this.families].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const { labels, value } of f.values.values()) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
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
