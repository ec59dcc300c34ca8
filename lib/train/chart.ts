/**
 * The training chart as a hand-written SVG (no plotting dependency): three panels over the global
 * step (stage 1 steps, then stage 2's): loss, reward margin, accuracy. Lines are the per-step
 * training values; dots are the held-out evaluations (filled: harmful held-out pairs, hollow:
 * benign held-out pairs); a dashed line marks where stage 2 begins.
 */
import { isEvalLine, type EvalLine, type MetricsLine, type StepLine } from './metrics.js';

const W = 720;
const PANEL_H = 170;
const LEFT = 70;
const RIGHT = 20;
const TOP = 56;
const GAP = 40;

export function renderChart(lines: MetricsLine[], title = 'ipo train'): string {
  const steps = lines.filter((l): l is StepLine => !isEvalLine(l));
  const evals = lines.filter(isEvalLine);
  const stage1Steps = Math.max(0, ...steps.filter((s) => s.stage === 1).map((s) => s.step));
  const globalX = (stage: 1 | 2, step: number) => (stage === 1 ? step : stage1Steps + step);
  const xMax = Math.max(1, ...steps.map((s) => globalX(s.stage, s.step)), ...evals.map((e) => globalX(e.stage, e.step)));
  const panels: Array<{ key: 'loss' | 'margin' | 'accuracy'; label: string; evals: boolean; fixed?: [number, number] }> = [
    { key: 'loss', label: 'loss', evals: false },
    { key: 'margin', label: 'reward margin', evals: true },
    { key: 'accuracy', label: 'accuracy', evals: true, fixed: [0, 1] },
  ];
  const height = TOP + panels.length * (PANEL_H + GAP);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555">lines: training steps (stage 2 loss includes the SFT term) · ● held-out harmful · ○ held-out benign</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = TOP + i * (PANEL_H + GAP);
    const values = [...steps.map((s) => s[panel.key]), ...(panel.evals ? evals.map((e) => e[panel.key as 'margin' | 'accuracy']) : [])];
    let [lo, hi] = panel.fixed ?? [Math.min(0, ...values), Math.max(...values, 0)];
    if (!(hi > lo)) hi = lo + 1;
    const pad = panel.fixed ? 0 : (hi - lo) * 0.05;
    if (lo < 0) lo -= pad; // a panel that starts at 0 (loss) keeps 0 as its floor
    hi += pad;
    const px = (x: number) => LEFT + ((W - LEFT - RIGHT) * x) / xMax;
    const py = (v: number) => y0 + PANEL_H - (PANEL_H * (v - lo)) / (hi - lo);
    out.push(`<rect x="${LEFT}" y="${y0}" width="${W - LEFT - RIGHT}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${LEFT - 8}" y="${y0 + 10}" text-anchor="end">${fmt(hi)}</text>`);
    out.push(`<text x="${LEFT - 8}" y="${y0 + PANEL_H}" text-anchor="end">${fmt(lo)}</text>`);
    out.push(`<text x="14" y="${y0 + PANEL_H / 2}" transform="rotate(-90 14 ${y0 + PANEL_H / 2})" text-anchor="middle">${panel.label}</text>`);
    if (lo < 0 && hi > 0) out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${py(0)}" y2="${py(0)}" stroke="#ddd"/>`);
    if (stage1Steps > 0 && steps.some((s) => s.stage === 2)) {
      out.push(`<line x1="${px(stage1Steps)}" x2="${px(stage1Steps)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#888" stroke-dasharray="4 3"/>`);
      if (i === 0) out.push(`<text x="${px(stage1Steps) + 4}" y="${y0 + 12}" fill="#555">stage 2</text>`);
    }
    for (const stage of [1, 2] as const) {
      const pts = steps.filter((s) => s.stage === stage).map((s) => `${px(globalX(stage, s.step)).toFixed(1)},${py(s[panel.key]).toFixed(1)}`);
      if (pts.length) out.push(`<polyline fill="none" stroke="${stage === 1 ? '#1f77b4' : '#d62728'}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    }
    if (panel.evals) {
      for (const e of evals) {
        const cx = px(globalX(e.stage, e.step)).toFixed(1);
        const cy = py(e[panel.key as 'margin' | 'accuracy']).toFixed(1);
        const filled = e.split === 'heldout';
        out.push(`<circle cx="${cx}" cy="${cy}" r="4.5" fill="${filled ? '#2ca02c' : 'white'}" stroke="#2ca02c" stroke-width="1.5"><title>${evalTitle(e)}</title></circle>`);
      }
    }
    out.push(`<text x="${LEFT}" y="${y0 + PANEL_H + 14}">0</text>`);
    out.push(`<text x="${W - RIGHT}" y="${y0 + PANEL_H + 14}" text-anchor="end">${xMax} steps</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function evalTitle(e: EvalLine): string {
  return `${e.split}, stage ${e.stage} step ${e.step}: margin ${fmt(e.margin)}, accuracy ${fmt(e.accuracy)}`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function escape(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}
