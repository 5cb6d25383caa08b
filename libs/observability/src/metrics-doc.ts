import type { Registry } from 'prom-client';

/** One metric as docs/metrics.md lists it. */
export interface MetricDescription {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

/**
 * What a registry holds, without its values: every `siem_*` metric with its type, labels and help,
 * sorted by name. A metric appears only once it is declared, which is why every library declares its
 * metrics when its module loads (see metrics.ts), never first in a constructor.
 */
export async function describeMetrics(registry: Registry): Promise<MetricDescription[]> {
  const out: MetricDescription[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const m = metric as unknown as {
      name: string;
      help: string;
      labelNames?: readonly string[];
      get(): Promise<{ type: string }>;
    };
    if (!m.name.startsWith('siem_')) continue;
    const { type } = await m.get();
    out.push({ name: m.name, type: String(type), labels: [...(m.labelNames ?? [])], help: m.help });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const FAMILY_TITLES: Record<string, string> = {
  component: 'Component vocabulary (every source, buffer and sink)',
};

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** docs/metrics.md: one table per family (`siem_<family>_…`), the component vocabulary first. */
export function renderMetricsDoc(metrics: readonly MetricDescription[], header: string): string {
  const families = new Map<string, MetricDescription[]>();
  for (const m of metrics) {
    const family = m.name.split('_')[1]!;
    const list = families.get(family);
    if (list === undefined) families.set(family, [m]);
    else list.push(m);
  }
  const order = [...families.keys()].sort((a, b) =>
    a === 'component' ? -1 : b === 'component' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const lines = [header.trimEnd(), ''];
  for (const family of order) {
    lines.push(`## ${FAMILY_TITLES[family] ?? `siem_${family}_*`}`, '');
    lines.push('| name | type | labels | meaning |', '|---|---|---|---|');
    for (const m of families.get(family)!) {
      const labels = m.labels.map((l) => `\`${l}\``).join(', ');
      lines.push(`| \`${m.name}\` | ${m.type} | ${labels} | ${cell(m.help)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
