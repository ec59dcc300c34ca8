/**
 * Just enough SVG to draw the report charts by hand (no chart library): escaping and element
 * builders. Every data mark carries data-* attributes with its series and value, so a chart can
 * be checked (and scraped) without rendering it.
 */

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Rounds coordinates to 2 decimals: smaller files, stable output. */
export function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

export function element(name: string, attributes: Record<string, string | number | undefined>, children = ''): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? fmt(v) : v!)}"`)
    .join('');
  return children === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${children}</${name}>`;
}

export function text(x: number, y: number, content: string, attributes: Record<string, string | number> = {}): string {
  return element('text', { x, y, 'font-family': 'sans-serif', 'font-size': 12, ...attributes }, escapeXml(content));
}

export function svgDocument(width: number, height: number, body: string[], title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<title>${escapeXml(title)}</title>\n` +
    element('rect', { x: 0, y: 0, width, height, fill: 'white' }) +
    '\n' +
    body.join('\n') +
    '\n</svg>\n'
  );
}

/** Shortens a label for an axis, keeping its start. */
export function clip(label: string, max: number): string {
  return label.length <= max ? label : label.slice(0, max - 1) + '…';
}
