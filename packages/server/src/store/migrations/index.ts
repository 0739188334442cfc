import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialects/sql-dialect.js';
import * as m0001 from './0001-init.js';
import * as m0002 from './0002-tracking.js';
import * as m0003 from './0003-search.js';
import * as m0004 from './0004-runs-index.js';
import * as m0005 from './0005-events.js';
import * as m0006 from './0006-governance.js';
import * as m0007 from './0007-tokens.js';
import * as m0008 from './0008-webhooks.js';
import * as m0009 from './0009-blob-inspections.js';
import * as m0010 from './0010-lineage.js';
import * as m0011 from './0011-external-versions.js';
import * as m0012 from './0012-deployments.js';
import * as m0013 from './0013-catalog-search.js';
import * as m0014 from './0014-promotions-newest.js';
import * as m0015 from './0015-audit-filters.js';

export interface BerthMigration {
  name: string;
  up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void>;
}

/** Bundled with the code, applied in order; append only. */
export const MIGRATIONS: readonly BerthMigration[] = [
  { name: '0001-init', up: m0001.up },
  { name: '0002-tracking', up: m0002.up },
  { name: '0003-search', up: m0003.up },
  { name: '0004-runs-index', up: m0004.up },
  { name: '0005-events', up: m0005.up },
  { name: '0006-governance', up: m0006.up },
  { name: '0007-tokens', up: m0007.up },
  { name: '0008-webhooks', up: m0008.up },
  { name: '0009-blob-inspections', up: m0009.up },
  { name: '0010-lineage', up: m0010.up },
  { name: '0011-external-versions', up: m0011.up },
  { name: '0012-deployments', up: m0012.up },
  { name: '0013-catalog-search', up: m0013.up },
  { name: '0014-promotions-newest', up: m0014.up },
  { name: '0015-audit-filters', up: m0015.up },
];
