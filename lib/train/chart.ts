/**
 * The training chart (lib/run/svg.ts, no plotting dependency): three panels over the global step
 * (stage 1 steps, then stage 2's): loss, reward margin, accuracy. Lines are the per-step training
 * values, coloured by stage; dots are the held-out evaluations (filled: harmful held-out pairs,
 * hollow: benign held-out pairs); a dashed line marks where stage 2 begins. A legend names the
 * colours and marks, and a panel whose range crosses 0 labels its 0 line.
 */
import { element, escapeXml, svgDocument, text } from '../run/svg.js';
import { isEvalLine, type EvalLine, type MetricsLine, type StepLine } from './metrics.js';

const W = 720;
const PANEL_H = 170;
const LEFT = 70;
const RIGHT = 20;
const TOP = 74;
const GAP = 40;
const STAGE_COLOUR = { 1: '#1f77b4', 2: '#d62728' } as const;
const HELDOUT_COLOUR = '#2ca02c';

type PanelKey = 'loss' | 'margin' | 'accuracy';
const PANELS: Array<{ key: PanelKey; label: string; evals: boolean; fixed?: [number, number] }> = [
  { key: 'loss', label: 'loss', evals: false },
  { key: 'margin', label: 'reward margin', evals: true },
  { key: 'accuracy', label: 'accuracy', evals: true, fixed: [0, 1] },
];

export function renderChart(lines: MetricsLine[], title = 'ipo train'): string {
  const steps = lines.filter((l): l is StepLine => !isEvalLine(l));
  const evals = lines.filter(isEvalLine);
  const stage1Steps = Math.max(0, ...steps.filter((s) => s.stage === 1).map((s) => s.step));
  const globalX = (stage: 1 | 2, step: number) => (stage === 1 ? step : stage1Steps + step);
  const xMax = Math.max(1, ...steps.map((s) => globalX(s.stage, s.step)), ...evals.map((e) => globalX(e.stage, e.step)));
  const px = (x: number) => LEFT + ((W - LEFT - RIGHT) * x) / xMax;
  const height = TOP + PANELS.length * (PANEL_H + GAP);
  const body: string[] = [text(LEFT, 22, title, { 'font-size': 14, 'font-weight': 'bold' }), ...legend()];
  PANELS.forEach((panel, i) => body.push(...renderPanel(panel, TOP + i * (PANEL_H + GAP), i === 0)));
  return svgDocument(W, height, body, title);

  function renderPanel(panel: (typeof PANELS)[number], y0: number, first: boolean): string[] {
    const out: string[] = [];
    const values = [...steps.map((s) => s[panel.key]), ...(panel.evals ? evals.map((e) => e[panel.key as 'margin' | 'accuracy']) : [])];
    let [lo, hi] = panel.fixed ?? [Math.min(0, ...values), Math.max(...values, 0)];
    if (!(hi > lo)) hi = lo + 1;
    const pad = panel.fixed ? 0 : (hi - lo) * 0.05;
    if (lo < 0) lo -= pad; // a panel that starts at 0 (loss) keeps 0 as its floor
    hi += pad;
    const py = (v: number) => y0 + PANEL_H - (PANEL_H * (v - lo)) / (hi - lo);
    out.push(element('rect', { x: LEFT, y: y0, width: W - LEFT - RIGHT, height: PANEL_H, fill: 'none', stroke: '#999' }));
    out.push(text(LEFT - 8, y0 + 10, label(hi), { 'text-anchor': 'end', 'font-size': 11 }));
    out.push(text(LEFT - 8, y0 + PANEL_H, label(lo), { 'text-anchor': 'end', 'font-size': 11 }));
    out.push(text(14, y0 + PANEL_H / 2, panel.label, { transform: `rotate(-90 14 ${y0 + PANEL_H / 2})`, 'text-anchor': 'middle', 'font-size': 11 }));
    if (lo < 0 && hi > 0) {
      out.push(element('line', { x1: LEFT, x2: W - RIGHT, y1: py(0), y2: py(0), stroke: '#ddd' }));
      out.push(text(LEFT - 8, py(0) + 4, '0', { 'text-anchor': 'end', 'font-size': 11, 'data-axis': 'zero' }));
    }
    if (stage1Steps > 0 && steps.some((s) => s.stage === 2)) {
      out.push(element('line', { x1: px(stage1Steps), x2: px(stage1Steps), y1: y0, y2: y0 + PANEL_H, stroke: '#888', 'stroke-dasharray': '4 3' }));
      if (first) out.push(text(px(stage1Steps) + 4, y0 + 12, 'stage 2', { fill: '#555', 'font-size': 11 }));
    }
    for (const stage of [1, 2] as const) {
      const pts = steps.filter((s) => s.stage === stage).map((s) => `${px(globalX(stage, s.step)).toFixed(1)},${py(s[panel.key]).toFixed(1)}`);
      if (pts.length) out.push(element('polyline', { fill: 'none', stroke: STAGE_COLOUR[stage], 'stroke-width': 1.5, points: pts.join(' '), 'data-series': `stage ${stage}` }));
    }
    if (panel.evals) {
      for (const e of evals) {
        const filled = e.split === 'heldout';
        const attrs = { cx: px(globalX(e.stage, e.step)), cy: py(e[panel.key as 'margin' | 'accuracy']), r: 4.5, fill: filled ? HELDOUT_COLOUR : 'white', stroke: HELDOUT_COLOUR, 'stroke-width': 1.5 };
        out.push(element('circle', attrs, `<title>${escapeXml(evalTitle(e))}</title>`));
      }
    }
    out.push(text(LEFT, y0 + PANEL_H + 14, '0', { 'font-size': 11 }));
    out.push(text(W - RIGHT, y0 + PANEL_H + 14, `${xMax} steps`, { 'text-anchor': 'end', 'font-size': 11 }));
    return out;
  }
}

/** Stage colours and held-out marks, one row under the title. */
function legend(): string[] {
  const y = 44;
  const out: string[] = [];
  let x = LEFT;
  for (const stage of [1, 2] as const) {
    out.push(element('line', { x1: x, x2: x + 22, y1: y - 4, y2: y - 4, stroke: STAGE_COLOUR[stage], 'stroke-width': 2, 'data-legend': `stage ${stage}` }));
    const caption = stage === 1 ? 'stage 1 steps (harmful pairs, DPO)' : 'stage 2 steps (loss includes the SFT term)';
    out.push(text(x + 28, y, caption, { 'font-size': 11 }));
    x += 28 + caption.length * 6 + 16;
  }
  out.push(element('circle', { cx: LEFT + 5, cy: y + 14, r: 4.5, fill: HELDOUT_COLOUR, stroke: HELDOUT_COLOUR, 'data-legend': 'heldout' }));
  out.push(text(LEFT + 16, y + 18, 'held-out harmful', { 'font-size': 11 }));
  out.push(element('circle', { cx: LEFT + 135, cy: y + 14, r: 4.5, fill: 'white', stroke: HELDOUT_COLOUR, 'data-legend': 'heldout-benign' }));
  out.push(text(LEFT + 146, y + 18, 'held-out benign', { 'font-size': 11 }));
  return out;
}

function evalTitle(e: EvalLine): string {
  return `${e.split}, stage ${e.stage} step ${e.step}: margin ${label(e.margin)}, accuracy ${label(e.accuracy)}`;
}

function label(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}
