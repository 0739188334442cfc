import type { BlobInspection, InspectionFlag, SafetensorsSummary } from '@berth/core';
import { formatCount } from './format';

/** Version metadata keys the server writes from inspecting the files while they upload (decision 0016). */
export const INSPECTION_KEY = 'berth.inspection';
export const FLAGS_KEY = 'berth.flags';

const FLAG_TEXT: Record<InspectionFlag, string> = {
  'unsafe-pickle': 'Unsafe pickle: loading it runs code',
  'invalid-safetensors': 'Invalid safetensors header',
  'invalid-gguf': 'Invalid GGUF file',
};

type Flags = Partial<Record<InspectionFlag, Record<string, string[]>>>;

function SafetensorsFile({ path, s }: { path: string; s: SafetensorsSummary }) {
  return (
    <li>
      <code>{path}</code>: {s.tensors} tensors, {formatCount(s.parameters)} parameters ({s.parameters.toLocaleString('en')}), header {s.header_bytes} bytes
      <ul>
        {Object.entries(s.dtypes).map(([dtype, d]) => (
          <li key={dtype}>
            {dtype}: {d.tensors} tensors, {formatCount(d.parameters)} parameters
          </li>
        ))}
        {s.metadata &&
          Object.entries(s.metadata).map(([k, v]) => (
            <li key={`m:${k}`}>
              <code>{k}</code> = {v}
            </li>
          ))}
      </ul>
    </li>
  );
}

/**
 * What the server found inside the files: the safetensors summary (tensors, parameters per dtype,
 * header metadata), other recognised formats, and the scan flags a reviewer must see first.
 */
export function Inspections({ metadata }: { metadata: Record<string, unknown> }) {
  const byPath = (metadata[INSPECTION_KEY] ?? {}) as Record<string, BlobInspection>;
  const flags = (metadata[FLAGS_KEY] ?? {}) as Flags;
  const safetensors = Object.entries(byPath).filter((e): e is [string, SafetensorsSummary] => e[1].format === 'safetensors');
  const others = Object.entries(byPath).filter(([, i]) => i.format !== 'safetensors');
  const totalParams = safetensors.reduce((n, [, s]) => n + s.parameters, 0);
  const flagged = Object.entries(flags) as [InspectionFlag, Record<string, string[]>][];
  return (
    <>
      <section aria-labelledby="scan-flags">
        <h2 id="scan-flags">Scan flags</h2>
        {flagged.length === 0 ? (
          <p>No scan flags: nothing unsafe or malformed was found in the files.</p>
        ) : (
          <ul className="flags">
            {flagged.map(([flag, paths]) =>
              Object.entries(paths).map(([path, reasons]) => (
                <li key={`${flag}:${path}`} className="flag">
                  <strong>{FLAG_TEXT[flag] ?? flag}</strong> (<code>{flag}</code>) in <code>{path}</code>: {reasons.join('; ')}
                </li>
              )),
            )}
          </ul>
        )}
      </section>
      <section aria-labelledby="safetensors">
        <h2 id="safetensors">Safetensors summary</h2>
        {safetensors.length === 0 ? (
          <p>No safetensors files.</p>
        ) : (
          <>
            <p>
              {formatCount(totalParams)} parameters in {safetensors.length} file{safetensors.length === 1 ? '' : 's'}.
            </p>
            <ul>
              {safetensors.map(([path, s]) => (
                <SafetensorsFile key={path} path={path} s={s} />
              ))}
            </ul>
          </>
        )}
        {others.length > 0 && (
          <>
            <h3>Other recognised files</h3>
            <ul>
              {others.map(([path, i]) => (
                <li key={path}>
                  <code>{path}</code>: {i.format}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </>
  );
}
