import { describe, expect, it } from 'vitest';
import { renderChart } from '../../lib/train/chart.js';
import type { MetricsLine } from '../../lib/train/metrics.js';

const step = (stage: 1 | 2, n: number, margin: number): MetricsLine => ({ stage, step: n, loss: 0.7 - 0.1 * n, margin, accuracy: 0.5, lr: 1e-3, epoch: 0, pairs: 4 });

describe('training chart', () => {
  const lines: MetricsLine[] = [
    { stage: 1, split: 'heldout', step: 0, margin: 0, accuracy: 0, pairs: 3 },
    step(1, 1, -0.2),
    step(1, 2, 0.1),
    step(2, 1, 0.3),
    step(2, 2, 0.5),
    { stage: 2, split: 'heldout-benign', step: 2, margin: 0.2, accuracy: 1, pairs: 2 },
  ];
  const svg = renderChart(lines, 't');

  it('has a legend naming each stage colour and both held-out marks', () => {
    const stage1 = svg.match(/<polyline[^>]*stroke="(#[0-9a-f]+)"[^>]*data-series="stage 1"/)![1];
    const stage2 = svg.match(/<polyline[^>]*stroke="(#[0-9a-f]+)"[^>]*data-series="stage 2"/)![1];
    expect(stage1).not.toBe(stage2);
    expect(svg).toMatch(new RegExp(`<line[^>]*stroke="${stage1}"[^>]*data-legend="stage 1"`));
    expect(svg).toMatch(new RegExp(`<line[^>]*stroke="${stage2}"[^>]*data-legend="stage 2"`));
    expect(svg).toContain('data-legend="heldout"');
    expect(svg).toContain('data-legend="heldout-benign"');
  });

  it('labels 0 on the margin axis where the margins cross it', () => {
    // margin panel (the second): values -0.2..0.5, padded by 5% of the span each side
    const top = 74 + 170 + 40;
    const lo = -0.2 - 0.035;
    const hi = 0.5 + 0.035;
    const y0 = top + 170 - (170 * (0 - lo)) / (hi - lo);
    const zero = svg.match(/<text x="62" y="([\d.]+)"[^>]*data-axis="zero">0<\/text>/);
    expect(zero).not.toBeNull();
    expect(Number(zero![1])).toBeCloseTo(y0 + 4, 1);
  });
});
