/** A small line of `values` (oldest first), scaled to its own maximum; for trends, not exact figures. */
export function Sparkline(props: { values: number[]; label: string }) {
  const width = 120;
  const height = 24;
  const values = props.values;
  if (values.length < 2) return null;
  const max = Math.max(...values) || 1;
  const step = width / (values.length - 1);
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={props.label}
    >
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}
