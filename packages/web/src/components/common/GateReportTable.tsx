import type { GateReport } from '@berth/core';

function num(v: number | null): string {
  return v === null ? '—' : String(v);
}

/** A promotion's stored gate report: each gate with what was observed against its threshold. */
export function GateReportTable({ report, caption }: { report: GateReport; caption: string }) {
  if (report.gates.length === 0) return <p>No gates: {report.passed ? 'passed' : 'failed'} on approvals alone.</p>;
  return (
    <table className="gates">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Gate</th>
          <th scope="col">Metric</th>
          <th scope="col">Observed</th>
          <th scope="col">Threshold</th>
          <th scope="col">Result</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {report.gates.map((g) => (
          <tr key={g.name}>
            <th scope="row">{g.name}</th>
            <td>{g.metric}</td>
            <td>{g.observed === null ? 'missing' : String(g.observed)}</td>
            <td>{num(g.threshold)}</td>
            <td className={g.passed ? 'pass' : 'fail'}>{g.passed ? 'pass' : 'fail'}</td>
            <td>{g.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
