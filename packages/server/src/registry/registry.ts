import { BerthError } from '@berth/core';
import { AliasService } from './aliases-service.js';
import { AuditService } from './audit-service.js';
import { BlobService } from './blobs-service.js';
import { GcService } from './gc-service.js';
import { ModelService } from './models-service.js';
import { RunService } from './runs-service.js';
import { VersionService } from './versions-service.js';
import { ExperimentService } from './experiments-service.js';
import { LoggedModelService } from './logged-models-service.js';
import { ArtifactService } from './artifacts-service.js';
import { SearchService } from './search-service.js';
import { ArtifactMultipartService } from './artifact-multipart.js';
import { WebhookService } from './webhooks-service.js';
import { TokenService } from './tokens-service.js';
import type { RegistryDeps } from './deps.js';
import { EvaluationService } from './evaluations-service.js';
import { PolicyService } from './policies-service.js';
import { PromotionService } from './promotions-service.js';
import { BundleService } from './bundles-service.js';
import { MlflowPromptService } from './mlflow-prompts.js';
import { PromptService } from './prompts-service.js';
import { CardService } from './cards-service.js';
import { HubService } from './hub-service.js';
import { HubCommits } from './hub-commits.js';
import { DeploymentService } from './deployments-service.js';
import { CatalogSearch } from './catalog-search.js';

/** Every rule with I/O, in one place; each protocol front translates onto these services. */
export class Registry {
  readonly models: ModelService;
  readonly versions: VersionService;
  readonly aliases: AliasService;
  readonly audit: AuditService;
  readonly blobs: BlobService;
  readonly experiments: ExperimentService;
  readonly runs: RunService;
  readonly loggedModels: LoggedModelService;
  readonly artifacts: ArtifactService;
  readonly gc: GcService;
  readonly search: SearchService;
  readonly multipart: ArtifactMultipartService;
  readonly webhooks: WebhookService;
  readonly tokens: TokenService;
  readonly evaluations: EvaluationService;
  readonly policies: PolicyService;
  readonly promotions: PromotionService;
  readonly bundles: BundleService;
  readonly mlflowPrompts: MlflowPromptService;
  readonly prompts: PromptService;
  readonly cards: CardService;
  readonly hub: HubService;
  readonly hubCommits: HubCommits;
  readonly deployments: DeploymentService;
  readonly catalog: CatalogSearch;

  constructor(readonly deps: RegistryDeps) {
    this.models = new ModelService(deps);
    this.blobs = new BlobService(deps);
    this.experiments = new ExperimentService(deps);
    this.runs = new RunService(deps, this.experiments);
    this.loggedModels = new LoggedModelService(deps, this.experiments, this.runs);
    this.artifacts = new ArtifactService(deps, this.runs, this.loggedModels);
    this.evaluations = new EvaluationService(deps);
    this.policies = new PolicyService(deps);
    this.promotions = new PromotionService(deps);
    const promotions = this.promotions;
    this.aliases = new AliasService(deps, {
      boundPolicy: (name, alias) => promotions.boundPolicyName(name, alias),
      promote: async (actor, name, input) => {
        const p = await promotions.request(actor, name, input);
        if (p.state === 'pending') {
          throw new BerthError(
            'FAILED_PRECONDITION',
            `promotion ${p.id} of ${name}:${p.version} to ${p.alias} passed its gates and awaits ${p.required_approvals} approval(s) (\`berth approve ${p.id}\`); ${p.alias} did not move yet`,
            { promotion: p.id, state: p.state },
          );
        }
      },
    });
    this.versions = new VersionService(deps, this.models, this.blobs, this.runs, this.artifacts, this.aliases);
    this.audit = new AuditService(deps);
    this.gc = new GcService(deps);
    this.search = new SearchService(deps);
    this.multipart = new ArtifactMultipartService(deps, this.artifacts);
    this.webhooks = new WebhookService(deps);
    this.tokens = new TokenService(deps);
    this.bundles = new BundleService(deps, this.versions, this.blobs);
    this.mlflowPrompts = new MlflowPromptService(deps, this.versions, this.blobs);
    this.prompts = new PromptService(deps, this.versions);
    this.cards = new CardService(deps, this.versions);
    this.hub = new HubService(deps);
    this.hubCommits = new HubCommits(deps, this.models, this.versions, this.blobs, this.aliases);
    this.deployments = new DeploymentService(deps, this.aliases, this.promotions);
    this.catalog = new CatalogSearch(deps);
  }
}
