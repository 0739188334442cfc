import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { BerthError } from '@berth/core';
import type { Database } from './schema.js';
import type { OpenedDatabase } from './dialects/opened-database.js';
import type { SqlDialect } from './dialects/sql-dialect.js';
import { MIGRATIONS } from './migrations/index.js';
import { ModelRepo } from './models.js';
import { VersionRepo } from './versions.js';
import { LineageRepo } from './lineage.js';
import { AliasRepo } from './aliases.js';
import { AuditRepo } from './audit.js';
import { EventRepo } from './events.js';
import { WebhookRepo } from './webhooks.js';
import { BlobInspectionRepo } from './blob-inspections.js';
import { TokenRepo } from './tokens.js';
import { UploadRepo } from './uploads.js';
import { EvaluationRepo } from './evaluations.js';
import { PolicyRepo } from './policies.js';
import { PromotionRepo } from './promotions.js';
import { DeploymentRepo } from './deployments.js';
import { CatalogRepo } from './catalog.js';
import { RunRepo } from './runs.js';
import { ArtifactRepo, ExperimentRepo, LoggedModelRepo } from './tracking.js';
import { isSerializationFailure, translateOpenError, translateStoreError } from './errors.js';
import type { HotReads } from './hot-reads.js';

/** The repositories of every aggregate, bound to one executor (the pool or a transaction). */
export class StoreTx {
  readonly models: ModelRepo;
  readonly versions: VersionRepo;
  readonly aliases: AliasRepo;
  readonly audit: AuditRepo;
  readonly events: EventRepo;
  readonly webhooks: WebhookRepo;
  readonly uploads: UploadRepo;
  readonly runs: RunRepo;
  readonly experiments: ExperimentRepo;
  readonly loggedModels: LoggedModelRepo;
  readonly artifacts: ArtifactRepo;
  readonly tokens: TokenRepo;
  readonly evaluations: EvaluationRepo;
  readonly policies: PolicyRepo;
  readonly promotions: PromotionRepo;
  readonly lineage: LineageRepo;
  readonly blobInspections: BlobInspectionRepo;
  readonly deployments: DeploymentRepo;
  readonly catalog: CatalogRepo;

  constructor(db: Kysely<Database>, dialect: SqlDialect) {
    this.models = new ModelRepo(db, dialect);
    this.versions = new VersionRepo(db, dialect);
    this.aliases = new AliasRepo(db);
    this.audit = new AuditRepo(db);
    this.events = new EventRepo(db);
    this.webhooks = new WebhookRepo(db);
    this.uploads = new UploadRepo(db);
    this.runs = new RunRepo(db, dialect);
    this.experiments = new ExperimentRepo(db, dialect);
    this.loggedModels = new LoggedModelRepo(db);
    this.artifacts = new ArtifactRepo(db);
    this.tokens = new TokenRepo(db);
    this.evaluations = new EvaluationRepo(db);
    this.policies = new PolicyRepo(db);
    this.promotions = new PromotionRepo(db, dialect);
    this.lineage = new LineageRepo(db);
    this.blobInspections = new BlobInspectionRepo(db);
    this.deployments = new DeploymentRepo(db);
    this.catalog = new CatalogRepo(db, dialect);
  }
}

export interface Store {
  /** The database's answers to dialect questions (for migrations and store-level tooling). */
  readonly dialect: SqlDialect;
  /** Repositories for reads outside a transaction. */
  readonly read: StoreTx;
  /**
   * Runs `fn` in one transaction: state change, audit event and history rows commit together
   * or not at all. SQL only inside (CONVENTIONS habit 4). Retried on PostgreSQL serialization
   * failures and deadlocks, so `fn` must be safe to run again.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** The Kysely instance, for store-level tooling (benchmarks seeding rows, migrations). */
  readonly db: Kysely<Database>;
  /** Single-statement reads for the hottest paths. */
  readonly hot: HotReads;
  /**
   * A token that changes whenever committed data may have changed, or undefined when the
   * store cannot tell (PostgreSQL: other servers write too). Read it before reading data; a
   * cached answer is good while the token is unchanged.
   */
  changeToken(): string | undefined;
  /**
   * Calls `listener` after each transaction this process commits (the outbox may have grown):
   * wakes the webhook dispatcher and the event stream without polling. Other servers' commits
   * are not seen here; followers poll for those. Returns the unsubscribe function.
   */
  onCommit(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Most transactions one group commit takes from the queue. */
const MAX_BATCH = 64;

interface Pending {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

class KyselyStore implements Store {
  readonly read: StoreTx;
  private readonly queue: Pending[] = [];
  private draining = false;
  /** Bumped after every transaction of this process, committed or not. */
  private generation = 0;
  private readonly commitListeners = new Set<() => void>();

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
    readonly hot: HotReads,
    private readonly externalVersion: (() => number) | undefined,
    private readonly onClose: () => Promise<void> | void,
  ) {
    this.read = new StoreTx(db, dialect);
  }

  changeToken(): string | undefined {
    return this.externalVersion ? `${this.generation}:${this.externalVersion()}` : undefined;
  }

  onCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  private committed(): void {
    for (const l of this.commitListeners) {
      try {
        l();
      } catch {
        // A listener's failure is its own; the commit stands and the other listeners still run.
      }
    }
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (!this.dialect.singleWriter) return this.transactionOnce(fn);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn: fn as (tx: StoreTx) => Promise<unknown>, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the requests already readable on other sockets reach this queue first.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async transactionOnce<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.db.transaction().execute((trx) => fn(new StoreTx(trx, this.dialect)));
        this.committed();
        return out;
      } catch (err) {
        if (attempt < 5 && isSerializationFailure(err)) continue;
        throw translateStoreError(err);
      } finally {
        this.generation++;
      }
    }
  }

  /**
   * Group commit (SQLite): the transactions waiting when the writer is free run, in queue
   * order, in one database transaction. SQLite has one writer anyway; sharing the commit
   * writes each touched page (index leaves, the audit head) to the WAL once per batch instead
   * of once per change. When any of them throws, the whole batch rolls back and each runs
   * again on its own (functions must be safe to run again, as for retries), so every caller
   * gets what a serial run would have given it. A lone transaction runs as before.
   */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 1) {
          const one = batch[0]!;
          await this.transactionOnce(one.fn).then(one.resolve, one.reject);
          continue;
        }
        await this.runBatch(batch);
      }
    } finally {
      this.draining = false;
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const values: unknown[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        const tx = new StoreTx(trx, this.dialect);
        for (const p of batch) values.push(await p.fn(tx));
      });
    } catch {
      // One of them failed (or the commit did): nothing of the batch is stored. Run each on
      // its own, in queue order, so every caller gets exactly the outcome a serial run gives.
      this.generation++;
      for (const p of batch) await this.transactionOnce(p.fn).then(p.resolve, p.reject);
      return;
    }
    this.generation++;
    this.committed();
    for (const [i, p] of batch.entries()) p.resolve(values[i]);
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}

function provider(dialect: SqlDialect): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of MIGRATIONS) out[m.name] = { up: (db) => m.up(db, dialect) };
      return out;
    },
  };
}

export async function migrate(db: Kysely<Database>, dialect: SqlDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: provider(dialect), migrationTableName: 'berth_migrations', migrationLockTableName: 'berth_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new BerthError('INTERNAL', `database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

/**
 * Opens the metadata store named by a URL: `sqlite:<path>` (or a bare path) for the embedded
 * default, `postgres://…` / `postgresql://…` for PostgreSQL. Applies pending migrations.
 */
export async function openStore(url: string, opts: { poolSize?: number } = {}): Promise<Store> {
  let opened: OpenedDatabase | undefined;
  try {
    if (/^postgres(ql)?:\/\//.test(url)) {
      const { openPostgres } = await import('./dialects/postgres.js');
      opened = await openPostgres(url, opts.poolSize);
    } else {
      const { openSqlite } = await import('./dialects/sqlite.js');
      opened = openSqlite(url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url);
    }
    await migrate(opened.db, opened.dialect);
  } catch (err) {
    await opened?.close().catch(() => {});
    throw translateOpenError(url, err);
  }
  return new KyselyStore(opened.db, opened.dialect, opened.hotReads(), opened.dataVersion, () => opened.close());
}
