/**
 * @module server/metrics
 * A small Prometheus registry: counters, gauges (values or callbacks) and histograms with labels,
 * written in the text exposition format 0.0.4.
 */

type Labels = Record<string, string>;

const labelCache = new Map<string, string>();

/** `{k="v",…}`, escaped; memoised (the same few label sets recur on every request). */
function labelText(labels: Labels): string {
  let id = '';
  for (const k in labels) id += `${k}\u0000${labels[k]}\u0001`;
  let text = labelCache.get(id);
  if (text === undefined) {
    text = renderLabels(labels);
    if (labelCache.size > 10_000) labelCache.clear();
    labelCache.set(id, text);
  }
  return text;
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): Promise<string[]> | string[];
}

export class Counter implements Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k} ${v}`);
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => Promise<[Labels, number][]> | [Labels, number][],
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), value);
  }
  async render(): Promise<string[]> {
    if (this.collect) {
      this.values.clear();
      for (const [labels, v] of await this.collect()) this.set(v, labels);
    }
    return [...this.values].map(([k, v]) => `${this.name}${k} ${v}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => {
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(le) })} ${s.counts[i]}`);
      });
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  async text(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.metrics) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...(await m.render()));
    }
    return `${lines.join('\n')}\n`;
  }
}
