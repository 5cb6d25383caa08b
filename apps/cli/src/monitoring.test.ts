/**
 * The Grafana dashboards (deploy/grafana) and the alert rules (deploy/prometheus) name only metrics the
 * code exports, and the Helm chart ships exactly these files: a renamed or removed metric breaks this
 * test, not a dashboard panel that silently shows "No data" in production.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helmBinary } from '@siem/local-stack';
import { describeMetrics, metricsRegistry } from '@siem/observability';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { libraryPackages } from './metrics-doc.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chart = join(root, 'helm/siem-gateway');
const dashboardsDir = join(root, 'deploy/grafana');
const chartDashboardsDir = join(chart, 'dashboards');
const rulesFile = join(root, 'deploy/prometheus/siem-gateway-rules.yaml');
const chartRulesFile = join(chart, 'rules/siem-gateway-rules.yaml');
/** Grafana's reference to the dashboard's data source variable (a literal, not a JS template). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax, not a JavaScript template.
const DATASOURCE = '${datasource}';

/** Metric name → its prom-client type and label names, of every `siem_*` metric the code exports. */
type Exported = Map<string, { type: string; labels: readonly string[] }>;

/**
 * What the code exports, read as docs/metrics.md reads it: every library loaded (each declares its
 * metrics when its module loads), then the process registry described.
 */
async function exportedMetrics(): Promise<Exported> {
  for (const name of libraryPackages()) await import(name);
  const described = await describeMetrics(metricsRegistry);
  return new Map(described.map((m) => [m.name, { type: m.type, labels: m.labels }]));
}

/** Labels Prometheus adds to every scraped series (target labels), besides those of the code. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'instance', 'job', 'service', 'container', 'endpoint']);

/** A metric an expression reads, with the label names its selector matches on. */
interface Selector {
  name: string;
  labels: string[];
}

/** The expression without its string literals (emptied, so `{a="x"}` stays a matcher) and comments. */
function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|#[^\n]*/g, (m) =>
    m.startsWith('#') ? ' ' : '""',
  );
}

/**
 * The `siem_*` metrics a PromQL expression reads. Label values, label_replace arguments and comments
 * are skipped; PromQL has no other place where an identifier starting `siem_` could stand, so a scan
 * for identifiers is enough.
 */
function selectorsIn(expr: string): Selector[] {
  return [...withoutStrings(expr).matchAll(/(?<![\w$.:])(siem_[A-Za-z0-9_:]*)\s*(\{[^}]*\})?/g)].map((m) => ({
    name: m[1]!,
    labels: [...(m[2] ?? '').matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

/** Why `selector` does not read series of an exported metric, or null when it does. */
function unknownMetric({ name, labels }: Selector, exported: Exported): string | null {
  let metric = exported.get(name);
  let extra: string[] = [];
  if (metric === undefined) {
    const series = /^(.+)_(bucket|sum|count)$/.exec(name);
    const base = series ? exported.get(series[1]!) : undefined;
    if (base === undefined) return `${name} is not a metric the code exports`;
    if (base.type !== 'histogram' && !(base.type === 'summary' && series![2] !== 'bucket'))
      return `${name}: ${series![1]} is a ${base.type}, it has no _${series![2]} series`;
    metric = base;
    extra = series![2] === 'bucket' ? ['le'] : [];
  }
  const known = new Set([...metric.labels, ...extra, ...TARGET_LABELS]);
  const wrong = labels.filter((l) => !known.has(l));
  return wrong.length === 0
    ? null
    : `${name} has no label ${wrong.join(', ')} (it has ${metric.labels.join(', ')})`;
}

/** Parentheses, brackets and braces open and close in order (a cheap syntax check without promtool). */
function unbalanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const ch of withoutStrings(expr)) {
    if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return true;
  }
  return stack.length > 0;
}

interface Expression {
  /** `siem-kafka.json: panel 12 "Delivery errors" target B`, `SiemEventsDropped` */
  where: string;
  expr: string;
}

interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ refId?: string; expr?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid?: string } }> };
}

function dashboardFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function readDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows too. */
function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

function dashboardExpressions(file: string, d: Dashboard): Expression[] {
  const out: Expression[] = [];
  for (const p of panelsOf(d)) {
    for (const t of p.targets ?? []) {
      out.push({ where: `${file}: panel ${p.id} "${p.title}" target ${t.refId}`, expr: t.expr ?? '' });
    }
  }
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    out.push({ where: `${file}: variable ${v.name}`, expr: query });
  }
  return out;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

function readRules(): RuleFile {
  return parse(readFileSync(rulesFile, 'utf8')) as RuleFile;
}

function ruleExpressions(rules: RuleFile): Expression[] {
  return rules.groups.flatMap((g) =>
    g.rules.map((r) => ({
      where: `siem-gateway-rules.yaml: ${g.name} ${r.alert ?? r.record}`,
      expr: r.expr,
    })),
  );
}

function problemsOf(expressions: Expression[], exported: Exported): string[] {
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    const selectors = selectorsIn(expr);
    if (selectors.length === 0) problems.push(`${where}: names no siem_ metric`);
    if (unbalanced(expr)) problems.push(`${where}: unbalanced brackets in ${expr}`);
    for (const selector of selectors) {
      const why = unknownMetric(selector, exported);
      if (why) problems.push(`${where}: ${why}`);
    }
  }
  return problems;
}

/** The parts of a rendered manifest this test reads. */
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: unknown;
}

function helmTemplate(...sets: string[]): Manifest[] {
  if (!existsSync(helmBinary))
    throw new Error(`helm is not built: run npm run stack -- fetch (${helmBinary})`);
  const args = ['template', 'siem', chart, '--kube-version', '1.30.0', ...sets.flatMap((s) => ['--set', s])];
  const r = spawnSync(helmBinary, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((d) => d !== null);
}

describe('metric names in PromQL', () => {
  const exported: Exported = new Map([
    ['siem_kafka_delivery_latency_seconds', { type: 'histogram', labels: [] }],
    ['siem_buffer_disk_bytes', { type: 'gauge', labels: ['buffer'] }],
  ]);
  const check = (name: string, ...labels: string[]) => unknownMetric({ name, labels }, exported);

  it('finds the metrics of an expression and their matchers, not label values, strings or comments', () => {
    expect(
      selectorsIn(
        'sum by (le) (rate(siem_kafka_delivery_latency_seconds_bucket{topic="siem_raw", le!=""}[5m])) / on (x) label_replace(siem_b, "a", "$1", "b", "(siem_c)") # siem_d',
      ),
    ).toEqual([
      { name: 'siem_kafka_delivery_latency_seconds_bucket', labels: ['topic', 'le'] },
      { name: 'siem_b', labels: [] },
    ]);
  });

  it("accepts a histogram's series and the labels a metric has, and names what is wrong", () => {
    expect(check('siem_kafka_delivery_latency_seconds_count')).toBeNull();
    expect(check('siem_kafka_delivery_latency_seconds_bucket', 'le', 'pod')).toBeNull();
    expect(check('siem_buffer_disk_bytes', 'buffer', 'namespace')).toBeNull();
    expect(check('siem_buffer_disk_bytes_bucket')).toMatch(/siem_buffer_disk_bytes is a gauge/);
    expect(check('siem_buffer_disk_bytes', 'listener')).toMatch(/has no label listener \(it has buffer\)/);
    expect(check('siem_kafka_made_up_total')).toMatch(/not a metric the code exports/);
  });
});

describe('Grafana dashboards and alert rules', () => {
  let exported: Exported;
  beforeAll(async () => {
    exported = await exportedMetrics();
  });

  it('dashboards are Grafana JSON on a data source variable, with unique panel ids', () => {
    const files = dashboardFiles(dashboardsDir);
    expect(files).toEqual([
      'siem-buffer.json',
      'siem-intake.json',
      'siem-kafka.json',
      'siem-normalizer.json',
      'siem-overview.json',
      'siem-storage.json',
    ]);
    const uids = new Set<string>();
    for (const file of files) {
      const d = readDashboard(file);
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39);
      expect(uids.has(d.uid), `${file}: uid ${d.uid} used twice`).toBe(false);
      uids.add(d.uid);
      const variables = d.templating.list;
      expect(
        variables.find((v) => v.name === 'datasource'),
        file,
      ).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
      });
      expect(
        variables.find((v) => v.name === 'component_id'),
        file,
      ).toMatchObject({ type: 'query' });
      const ids = panelsOf(d).map((p) => p.id);
      expect(new Set(ids).size, `${file}: panel ids ${ids.join(',')}`).toBe(ids.length);
      for (const p of panelsOf(d).filter((q) => q.type !== 'row')) {
        const where = `${file}: panel ${p.id} "${p.title}"`;
        expect(p.datasource?.uid, where).toBe(DATASOURCE);
        expect(p.targets?.length, where).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.datasource?.uid, where).toBe(DATASOURCE);
      }
    }
  });

  it('every dashboard expression names a metric the code exports', () => {
    const expressions = dashboardFiles(dashboardsDir).flatMap((f) =>
      dashboardExpressions(f, readDashboard(f)),
    );
    expect(expressions.length).toBeGreaterThan(100);
    expect(problemsOf(expressions, exported)).toEqual([]);
  });

  it('every alert names a metric the code exports, and says how bad and what happened', () => {
    const rules = readRules();
    const alerts = rules.groups.flatMap((g) => g.rules);
    for (const r of alerts) {
      expect(r.alert, r.expr).toMatch(/^Siem[A-Za-z]+$/);
      expect(r.for, r.alert).toMatch(/^\d+m$/);
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
    expect(new Set(alerts.map((r) => r.alert)).size).toBe(alerts.length);
    expect(problemsOf(ruleExpressions(rules), exported)).toEqual([]);
  });

  it('the chart carries the same dashboards and rules files as deploy/', () => {
    expect(dashboardFiles(chartDashboardsDir)).toEqual(dashboardFiles(dashboardsDir));
    for (const file of dashboardFiles(dashboardsDir)) {
      expect(
        readFileSync(join(chartDashboardsDir, file), 'utf8') ===
          readFileSync(join(dashboardsDir, file), 'utf8'),
        `helm/siem-gateway/dashboards/${file} differs from deploy/grafana/${file}: copy it over`,
      ).toBe(true);
    }
    expect(
      readFileSync(chartRulesFile, 'utf8') === readFileSync(rulesFile, 'utf8'),
      'helm/siem-gateway/rules/ differs from deploy/prometheus/: copy it over',
    ).toBe(true);
  });

  it('renders one labelled ConfigMap per dashboard and the PrometheusRule only when asked', () => {
    const off = helmTemplate().map((d) => d.kind);
    expect(off).not.toContain('PrometheusRule');
    const docs = helmTemplate(
      'grafanaDashboards.enabled=true',
      'grafanaDashboards.annotations.grafana_folder=SIEM',
      'prometheusRule.enabled=true',
      'prometheusRule.labels.release=monitoring',
    );
    const maps = docs.filter((d) => d.kind === 'ConfigMap' && d.metadata.labels?.grafana_dashboard === '1');
    const rendered = Object.fromEntries(maps.flatMap((m) => Object.entries(m.data ?? {})));
    expect(Object.keys(rendered).sort()).toEqual(dashboardFiles(dashboardsDir));
    for (const [file, json] of Object.entries(rendered))
      expect(JSON.parse(json), file).toEqual(readDashboard(file));
    expect(maps.every((m) => m.metadata.annotations?.grafana_folder === 'SIEM')).toBe(true);
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    expect(rule?.metadata.labels?.release).toBe('monitoring');
    expect(rule?.spec).toEqual(readRules());
  });
});
