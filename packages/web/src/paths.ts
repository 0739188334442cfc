/** The UI's URLs of a model and a version (DESIGN §7); a namespaced name keeps its slash encoded. */
export function modelPath(model: string): string {
  return `/models/${encodeURIComponent(model)}`;
}

export function versionPath(model: string, version: number): string {
  return `${modelPath(model)}/versions/${version}`;
}
