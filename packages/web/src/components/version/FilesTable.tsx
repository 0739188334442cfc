import type { ManifestFile } from '@berth/core';
import { formatBytes } from './format';

/** A version's manifest: every file with its size and sha256 (what `berth pull` verifies). */
export function FilesTable({ files }: { files: readonly ManifestFile[] }) {
  if (files.length === 0) return <p>No files.</p>;
  return (
    <table className="files">
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Size</th>
          <th scope="col">sha256</th>
        </tr>
      </thead>
      <tbody>
        {files.map((f) => (
          <tr key={f.path}>
            <th scope="row">
              <code>{f.path}</code>
            </th>
            <td title={`${f.size} bytes`}>{formatBytes(f.size)}</td>
            <td>
              <code className="digest">{f.sha256}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
