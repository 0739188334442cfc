import { invalid } from '@berth/core';
import type { ExperimentRecord, LoggedModelRecord, ArtifactRecord } from '../store/tracking.js';
import type { MetricPoint, RunRecord } from '../store/runs.js';

/**
 * What MLflow's tracking workflows (`runs:/`, `log_model`; issue 3) share across their
 * services: experiments, runs, logged models and artifacts. Artifact files live in the blob
 * store; an index maps each artifact path to its blob, so a registered version snapshots a
 * run's files by digest.
 *
 * Artifact paths are relative to the artifact root: an experiment's files under `<exp>/`, a
 * run's under `<exp>/<run_id>/artifacts/`, a logged model's under `<exp>/models/<id>/artifacts/`.
 */
export type { ExperimentRecord, LoggedModelRecord, ArtifactRecord };

export const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };

/** A run with the latest value of each of its metrics, by key. */
export interface RunWithLatestMetrics {
  run: RunRecord;
  metrics: Record<string, number>;
}

/** A run with its latest metric points and its experiment. */
export interface RunWithMetrics {
  run: RunRecord;
  metrics: MetricPoint[];
  experiment: ExperimentRecord;
}

/** MLflow's ViewType: which lifecycle stages a search returns. */
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface TrackingPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** MLflow's search limits: max_results defaults to 1000 and may not exceed 50,000. */
export const SEARCH_MAX_RESULTS = 50_000;

export function checkPage(max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > SEARCH_MAX_RESULTS) {
    throw invalid(`Invalid value ${max} for parameter 'max_results' supplied: it must be a whole number from 1 to ${SEARCH_MAX_RESULTS}.`, {
      field: 'max_results',
    });
  }
}

export function runArtifactRoot(run: { id: string; experiment_id?: string | null }): string {
  return `${run.experiment_id ?? DEFAULT_EXPERIMENT.id}/${run.id}/artifacts`;
}

export function loggedModelArtifactRoot(m: { id: string; experiment_id: string }): string {
  return `${m.experiment_id}/models/${m.id}/artifacts`;
}
