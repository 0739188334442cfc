import { useMemo } from 'react';
import { useLocation, useSearch } from 'wouter';
import { useAt } from '../at';
import { AliasesAt } from '../components/audit/AliasesAt';
import { AuditFiltersForm } from '../components/audit/AuditFiltersForm';
import { AuditTimeline } from '../components/audit/AuditTimeline';
import { type AuditFilters, filtersFrom, searchFor } from '../components/audit/audit-filters';
import { VerifyStatus } from '../components/audit/VerifyStatus';
import { AtBanner } from '../components/time/AtBanner';

/**
 * `/audit`: every recorded change, filtered by model, action, actor and time, the chain's
 * verification, and with a model filter its aliases at the time the page shows. At `?at=` the
 * trail ends at that time.
 */
export function AuditPage() {
  const at = useAt();
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = useMemo(() => filtersFrom(search), [search]);
  const apply = (f: AuditFilters) => navigate(`/audit${searchFor(f, at)}`);
  return (
    <>
      <h1>Audit</h1>
      <AtBanner at={at} />
      <VerifyStatus at={at} />
      <AuditFiltersForm value={filters} onApply={apply} />
      {filters.model && <AliasesAt model={filters.model} at={at} />}
      <AuditTimeline filters={filters} at={at} />
    </>
  );
}
