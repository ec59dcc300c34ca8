/**
 * The two charts: the evaluation's ratios per category (horizontal bars with 95% Wilson
 * whiskers) and a CSR curve per trace (CSR against token position, mu/eta lines, turning points
 * marked). Plain SVG strings.
 */
import type { TurningPoint, TurningPointOptions } from './csr.js';
import type { EvalMetrics } from './metrics.js';
import { clip, element, escapeXml, svgDocument, text } from '../run/svg.js';
import type { Ratio } from './wilson.js';

export const SERIES = [
  { key: 'harmfulReasoningRatio', label: 'harmful reasoning', color: '#d62728' },
  { key: 'harmfulResponseRatio', label: 'harmful response', color: '#ff7f0e' },
  { key: 'complianceRatio', label: 'compliance (benign)', color: '#2ca02c' },
] as const;

/** Bars per group ('all' first, then the categories) for the series that have data. */
export function evalChartSvg(title: string, overall: EvalMetrics, perCategory: Record<string, EvalMetrics>): string {
  const groups: Array<[string, EvalMetrics]> = [['all', overall], ...Object.entries(perCategory)];
  const series = SERIES.filter((s) => groups.some(([, m]) => m[s.key].n > 0));
  const barH = 12;
  const groupH = Math.max(1, series.length) * (barH + 2) + 10;
  const left = 230;
  const plotW = 420;
  const top = 50;
  const legendH = 24;
  const height = top + groups.length * groupH + 40 + legendH;
  const width = left + plotW + 70;
  const x = (v: number) => left + v * plotW;
  const body: string[] = [text(10, 22, title, { 'font-size': 15, 'font-weight': 'bold' })];

  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    body.push(element('line', { x1: x(tick), y1: top - 6, x2: x(tick), y2: top + groups.length * groupH, stroke: '#ddd' }));
    body.push(text(x(tick), top - 10, `${tick * 100}%`, { 'text-anchor': 'middle', 'font-size': 10 }));
  }
  groups.forEach(([name, metrics], g) => {
    const y0 = top + g * groupH;
    body.push(text(left - 8, y0 + groupH / 2, clip(name, 34), { 'text-anchor': 'end', 'font-weight': g === 0 ? 'bold' : 'normal' }));
    series.forEach((s, k) => {
      const r: Ratio = metrics[s.key];
      const y = y0 + 4 + k * (barH + 2);
      if (r.value === null) return;
      const label = `${name}: ${s.label} ${(r.value * 100).toFixed(1)}% (${r.count}/${r.n}), 95% CI ${(r.ci95[0] * 100).toFixed(1)}-${(r.ci95[1] * 100).toFixed(1)}%`;
      body.push(
        element(
          'rect',
          { x: left, y, width: Math.max(0.5, r.value * plotW), height: barH, fill: s.color, 'data-series': s.key, 'data-group': name, 'data-value': String(r.value), 'data-ci-low': String(r.ci95[0]), 'data-ci-high': String(r.ci95[1]) },
          `<title>${escapeXml(label)}</title>`,
        ),
      );
      const cy = y + barH / 2;
      body.push(element('path', { d: `M${x(r.ci95[0])} ${cy}H${x(r.ci95[1])}M${x(r.ci95[0])} ${cy - 4}V${cy + 4}M${x(r.ci95[1])} ${cy - 4}V${cy + 4}`, stroke: '#222', 'stroke-width': 1, fill: 'none' }));
      body.push(text(x(1) + 6, cy + 4, `${(r.value * 100).toFixed(1)}%`, { 'font-size': 10 }));
    });
  });
  const ly = height - legendH;
  series.forEach((s, k) => {
    const lx = left + k * 150;
    body.push(element('rect', { x: lx, y: ly - 10, width: 12, height: 12, fill: s.color }));
    body.push(text(lx + 16, ly, s.label, { 'font-size': 11 }));
  });
  body.push(text(10, ly, 'whiskers: 95% Wilson interval', { 'font-size': 10, fill: '#555' }));
  return svgDocument(width, height, body, title);
}

export interface CsrChartPoint {
  index: number;
  position: number;
  csr: number | null;
  sentence: string;
}

/** CSR against token position; point 0 (the baseline) at position 0 when known. */
export function csrChartSvg(id: string, baseline: number | null, points: readonly CsrChartPoint[], turning: readonly TurningPoint[], options: TurningPointOptions): string {
  const width = 760;
  const height = 340;
  const left = 56;
  const right = 20;
  const top = 40;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const series = [...(baseline !== null ? [{ index: 0, position: 0, csr: baseline, sentence: '(empty prefix)' }] : []), ...points].filter(
    (p): p is CsrChartPoint & { csr: number } => p.csr !== null,
  );
  const maxPos = Math.max(1, ...points.map((p) => p.position));
  const x = (pos: number) => left + (pos / maxPos) * plotW;
  const y = (v: number) => top + (1 - v) * plotH;
  const body: string[] = [text(10, 22, `CSR: ${clip(id, 80)}`, { 'font-size': 15, 'font-weight': 'bold' })];

  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    body.push(element('line', { x1: left, y1: y(tick), x2: left + plotW, y2: y(tick), stroke: '#eee' }));
    body.push(text(left - 6, y(tick) + 4, tick.toFixed(2), { 'text-anchor': 'end', 'font-size': 10 }));
  }
  body.push(element('line', { x1: left, y1: top, x2: left, y2: top + plotH, stroke: '#333' }));
  body.push(element('line', { x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, stroke: '#333' }));
  body.push(text(left + plotW / 2, height - 12, 'reasoning position (tokens)', { 'text-anchor': 'middle', 'font-size': 11 }));
  body.push(text(14, top + plotH / 2, 'CSR', { 'font-size': 11, transform: `rotate(-90 14 ${top + plotH / 2})` }));
  body.push(text(left + plotW, top + plotH + 16, String(maxPos), { 'text-anchor': 'end', 'font-size': 10 }));
  body.push(text(left, top + plotH + 16, '0', { 'font-size': 10 }));

  for (const [name, v, color] of [['mu', options.mu, '#2ca02c'], ['eta', options.eta, '#d62728']] as const) {
    body.push(element('line', { x1: left, y1: y(v), x2: left + plotW, y2: y(v), stroke: color, 'stroke-dasharray': '5 4', 'data-threshold': name, 'data-value': String(v) }));
    body.push(text(left + plotW - 4, y(v) - 4, `${name} = ${v}`, { 'text-anchor': 'end', 'font-size': 10, fill: color }));
  }
  body.push(
    element('polyline', {
      points: series.map((p) => `${x(p.position).toFixed(2)},${y(p.csr).toFixed(2)}`).join(' '),
      fill: 'none',
      stroke: '#1f77b4',
      'stroke-width': 2,
      'data-series': 'csr',
      'data-values': series.map((p) => String(p.csr)).join(' '),
      'data-positions': series.map((p) => String(p.position)).join(' '),
    }),
  );
  for (const p of series) {
    body.push(
      element('circle', { cx: x(p.position), cy: y(p.csr), r: 2.5, fill: '#1f77b4', 'data-point': String(p.index), 'data-csr': String(p.csr) }, `<title>${escapeXml(`#${p.index} CSR ${p.csr.toFixed(3)}: ${clip(p.sentence, 160)}`)}</title>`),
    );
  }
  for (const t of turning) {
    const color = t.kind === 'trigger' ? '#2ca02c' : '#d62728';
    body.push(
      element(
        'circle',
        { cx: x(t.position), cy: y(t.csr), r: 7, fill: 'none', stroke: color, 'stroke-width': 2.5, 'data-kind': t.kind, 'data-point': String(t.index) },
        `<title>${escapeXml(`${t.kind === 'trigger' ? 'safety trigger' : 'compliance cue'} #${t.index}: ${clip(t.sentence, 200)}`)}</title>`,
      ),
    );
  }
  const ly = top - 12;
  body.push(element('circle', { cx: left + 340, cy: ly - 4, r: 6, fill: 'none', stroke: '#2ca02c', 'stroke-width': 2 }));
  body.push(text(left + 350, ly, 'safety trigger', { 'font-size': 10 }));
  body.push(element('circle', { cx: left + 450, cy: ly - 4, r: 6, fill: 'none', stroke: '#d62728', 'stroke-width': 2 }));
  body.push(text(left + 460, ly, 'compliance cue', { 'font-size': 10 }));
  return svgDocument(width, height, body, `CSR ${id}`);
}
