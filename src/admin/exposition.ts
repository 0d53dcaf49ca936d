/**
 * The Prometheus text format (0.0.4) of the metrics with a series per
 * record set or target, written here rather than by prom-client: at 10,000
 * record sets prom-client builds failoverd_target_health (120,000 series) in
 * one call of about a second, and its histogram per probed target in half a
 * second, holding DNS answers all along. A family here is a generator of
 * sample lines, written in slices (slices.ts); the text is the one
 * prom-client writes (same escaping, same number format).
 */

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** The sample lines of one scrape, made lazily. */
  samples(): Iterable<string>;
}

const escapeText = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** `{a="x",b="y"}` with prom-client's escaping of label values. */
export function labels(o: Record<string, string>): string {
  const parts: string[] = [];
  for (const k in o) parts.push(`${k}="${escapeText(o[k]!).replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A sample value as prom-client writes it. */
export function value(n: number): string {
  if (Number.isNaN(n)) return 'Nan';
  if (!Number.isFinite(n)) return n < 0 ? '-Inf' : '+Inf';
  return `${n}`;
}

export function header(f: Pick<Family, 'name' | 'help' | 'type'>): string {
  return `# HELP ${f.name} ${escapeText(f.help)}\n# TYPE ${f.name} ${f.type}`;
}

/** Counts and sums of one histogram series (buckets not cumulative). */
export interface HistogramCounts {
  buckets: number[];
  sum: number;
  count: number;
}

/** Histogram series keyed by one label's value, each with the same buckets. */
export class KeyedHistogram {
  private readonly series = new Map<string, HistogramCounts>();

  constructor(readonly bounds: readonly number[]) {}

  observe(key: string, v: number): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { buckets: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 }));
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) s.buckets[i]!++;
    s.sum += v;
    s.count++;
  }

  get(key: string): HistogramCounts | undefined {
    return this.series.get(key);
  }

  keys(): IterableIterator<string> {
    return this.series.keys();
  }

  remove(key: string): void {
    this.series.delete(key);
  }

  /** The lines of the series of `key` (zero when it has none yet), as prom-client writes them: le first. */
  *lines(name: string, label: string, key: string): Generator<string> {
    const s = this.series.get(key);
    const l = labels({ [label]: key }).slice(1);
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += s?.buckets[i] ?? 0;
      yield `${name}_bucket{le="${this.bounds[i]}",${l} ${acc}`;
    }
    yield `${name}_bucket{le="+Inf",${l} ${s?.count ?? 0}`;
    yield `${name}_sum{${l} ${value(s?.sum ?? 0)}`;
    yield `${name}_count{${l} ${s?.count ?? 0}`;
  }
}
