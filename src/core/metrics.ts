/** Prometheus text exposition: components register collectors, the API renders them on GET /metrics. */
export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: "gauge" | "counter" | "info";
  samples: Sample[];
}

export type Collector = () => MetricFamily[];

/** A list of collectors; each is called at scrape time so readings are never stale. */
export class MetricsRegistry {
  private collectors: Collector[] = [];

  /** Adds a collector; later issues' components (miner, pool, chain) register theirs here. */
  register(c: Collector): void {
    this.collectors.push(c);
  }

  /** The text format, version 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const c of this.collectors) {
      for (const f of c()) {
        const type = f.type === "info" ? "gauge" : f.type;
        out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${type}`);
        for (const s of f.samples) out.push(`${f.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

function formatLabels(labels?: Record<string, string | number>): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
