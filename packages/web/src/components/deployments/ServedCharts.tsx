import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './served-stats';

/** Distinct on white at ≥ 4.5:1 each (blue, vermilion, green, purple, brown, grey), then repeated. */
const COLOURS = ['#0b4f9c', '#b8360d', '#1b6e2a', '#6a3d9a', '#7a4a12', '#4a4a4a'];

interface ChartProps {
  title: string;
  unit: string;
  t: number[];
  labels: string[];
  values: (number | null)[][];
}

/** One uPlot line chart, sized to its container; recreated when its data changes (a few hundred points at most). */
function Chart({ title, unit, t, labels, values }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 180,
        series: [{}, ...labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false, points: { show: t.length < 60 } }))],
        axes: [{}, { label: unit, size: 60 }],
        scales: { x: { time: true } },
        legend: { show: true },
      },
      [t, ...values] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [t, labels, values, unit]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {/* The figures behind the chart are in the page's tables; the chart is their picture over time. */}
      <div ref={box} role="img" aria-label={`${title}: ${labels.join(', ')} over the last ${t.length} report windows`} />
    </figure>
  );
}

/** Latency, error rate and quality per version over the recent served reports (loaded lazily: uPlot is not in the first bundle). */
export default function ServedCharts({ series }: { series: Series }) {
  if (series.t.length === 0) return <p>No served reports in this period yet.</p>;
  return (
    <div className="charts">
      <Chart title="p99 latency" unit="ms" t={series.t} labels={series.labels} values={series.p99} />
      <Chart title="Error rate" unit="%" t={series.t} labels={series.labels} values={series.errorRate} />
      <Chart title="Quality (mean score)" unit="score" t={series.t} labels={series.labels} values={series.quality} />
    </div>
  );
}
