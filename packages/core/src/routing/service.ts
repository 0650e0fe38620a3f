/**
 * Blue-green by Service selector: the active Service's selector gets the
 * canary's version label in one patch (0 → stable, 100 → canary), and an
 * optional preview Service points at the canary meanwhile.
 */
import { UserError } from '../errors';
import { deleteIfPresent, getOptional, getRequired } from '../kube/objects';
import type { Deployment, KubeObject } from '../kube/types';
import { isManaged, MANAGED_LABELS } from './common';
import type { RouterDeps, RouterState, ServiceRouterConfig, TrafficRouter, TrafficTarget } from './types';

// Tried in this order when router-config names no version-label.
/**
 * On a preview Service the user owns: its selector value for the version label before we pointed it at the
 * new version (JSON, null = the key was absent), so an abort (maybe by a later run) can point it back.
 */
export const PREVIEW_PREVIOUS_ANNOTATION = 'deploy-actions.dev/preview-previous-selector';
const USUAL_VERSION_LABELS = ['deploy-actions.dev/version', 'version', 'app.kubernetes.io/version'];

interface ServiceObject extends KubeObject {
  spec?: { selector?: Record<string, string>; ports?: unknown[]; [field: string]: unknown };
}

export class ServiceRouter implements TrafficRouter {
  readonly name = 'service' as const;
  /** The selector patch that sends everything to stable, kept for a fast abort. */
  private toStable: { key: string; value: string } | undefined;

  constructor(
    private readonly config: ServiceRouterConfig,
    private readonly target: TrafficTarget,
    private readonly deps: RouterDeps,
  ) {}

  /**
   * Before anything is created: the active Service, the stable, and green as it will be created (`planned.canary`,
   * the in-memory Deployment; else the one in the cluster). Checked: a label tells the versions apart, the active
   * Service's selector has it (else green's pods, which carry the stable's other labels, would take traffic as
   * soon as they are Ready), and the selector's other labels match both versions' pods (else the switch, or the
   * switch back, would leave the Service selecting no pods).
   */
  async validate(planned?: { canary?: Deployment | undefined }): Promise<void> {
    const service = await this.activeService();
    const stable = await this.deployment('stable');
    const canary =
      planned?.canary ??
      (await getOptional<Deployment>(
        this.deps.client,
        'Deployment',
        this.target.namespace,
        this.target.canary.deployment,
      ));
    if (canary === undefined) return;
    const key = this.versionLabel(stable, canary);
    const selector = service.spec?.selector ?? {};
    const name = this.config.activeService;
    const example = Object.entries({ ...selector, [key]: labelsOf(stable)[key] as string })
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    if (selector[key] === undefined)
      throw new UserError(
        `Service '${name}' selects ${describeSelector(selector)} without the version label '${key}': the new version's pods carry the same labels, so they would take traffic as soon as they are Ready, before the preview checks and the switch. Nothing was changed.`,
        { hint: `add the stable's version to the Service's selector, e.g. selector: { ${example} }` },
      );
    for (const [which, deployment, deploymentName] of [
      ['stable', stable, this.target.stable.deployment],
      ['new version', canary, this.target.canary.deployment],
    ] as const) {
      const labels = labelsOf(deployment);
      const unmatched = Object.entries(selector).filter(([k, v]) => k !== key && labels[k] !== v);
      if (unmatched.length > 0)
        throw new UserError(
          `Service '${name}' selector ${unmatched.map(([k, v]) => `${k}=${v}`).join(', ')} does not match the pod labels of the ${which} Deployment '${deploymentName}' (${describeSelector(labels)}): switching to it would leave the Service with no pods. Nothing was changed.`,
          {
            hint: `give the pod template the Service's labels; only the version label '${key}' may differ, e.g. selector: { ${example} }`,
          },
        );
    }
  }

  async setWeight(weight: number): Promise<RouterState> {
    if (weight !== 0 && weight !== 100)
      throw new UserError(
        `The service router switches all traffic at once: a weight must be 0 or 100 (got ${weight}).`,
        {
          hint: 'use steps: 100 with router: service, or a weighted router (nginx, gateway-api, istio, smi, replicas)',
        },
      );
    const [service, stable, canary] = await Promise.all([
      this.activeService(),
      this.deployment('stable'),
      this.deployment('canary'),
    ]);
    const key = this.versionLabel(stable, canary);
    const stableValue = labelsOf(stable)[key] as string;
    const canaryValue = labelsOf(canary)[key] as string;
    this.toStable = { key, value: stableValue };
    const chosen = weight === 100 ? canary : stable;
    const selector = { ...service.spec?.selector, [key]: labelsOf(chosen)[key] as string };
    const unmatched = Object.entries(selector).filter(([k, v]) => labelsOf(chosen)[k] !== v);
    if (unmatched.length > 0)
      throw new UserError(
        `Service '${this.config.activeService}' selector ${unmatched.map(([k, v]) => `${k}=${v}`).join(', ')} does not match the ${weight === 100 ? 'canary' : 'stable'} Deployment's pod labels.`,
        { hint: 'give both versions the labels of the Service selector; only the version label may differ' },
      );
    if (this.config.previewService) await this.pointPreview(service, key, canaryValue);
    await this.patchSelector(this.config.activeService, key, labelsOf(chosen)[key] as string);
    return {
      weight,
      actualWeight: weight,
      detail: `Service ${this.target.namespace}/${this.config.activeService} selects ${key}=${weight === 100 ? canaryValue : stableValue} (${weight === 100 ? 'canary' : 'stable'})`,
    };
  }

  async preparePreview(): Promise<string | undefined> {
    if (!this.config.previewService) return undefined;
    const [service, stable, canary] = await Promise.all([
      this.activeService(),
      this.deployment('stable'),
      this.deployment('canary'),
    ]);
    const key = this.versionLabel(stable, canary);
    const value = labelsOf(canary)[key] as string;
    await this.pointPreview(service, key, value);
    return `Service ${this.target.namespace}/${this.config.previewService} (preview) selects ${key}=${value} (the new version)`;
  }

  async promote(): Promise<void> {
    // The stable Deployment now runs the new version: select it by its (new) label value.
    const stable = await this.deployment('stable');
    const canary = await getOptional<Deployment>(
      this.deps.client,
      'Deployment',
      this.target.namespace,
      this.target.canary.deployment,
    );
    const key = canary ? this.versionLabel(stable, canary, true) : (this.toStable?.key ?? this.config.versionLabel);
    if (key !== undefined && labelsOf(stable)[key] !== undefined)
      await this.patchSelector(this.config.activeService, key, labelsOf(stable)[key] as string);
    await this.removePreview();
  }

  async abort(): Promise<void> {
    let back = this.toStable;
    if (back === undefined) {
      const [stable, canary] = await Promise.all([this.deployment('stable'), this.deployment('canary')]);
      const key = this.versionLabel(stable, canary);
      back = { key, value: labelsOf(stable)[key] as string };
    }
    await Promise.all([this.patchSelector(this.config.activeService, back.key, back.value), this.removePreview(true)]);
  }

  async plan(weight: number, planned?: { canary?: Deployment | undefined }): Promise<string[]> {
    const [service, stable, canary] = await Promise.all([
      this.activeService(),
      this.deployment('stable'),
      planned?.canary ??
        getOptional<Deployment>(this.deps.client, 'Deployment', this.target.namespace, this.target.canary.deployment),
    ]);
    const steps: string[] = [];
    if (canary === undefined) {
      steps.push(
        `patch Service ${this.target.namespace}/${this.config.activeService} selector to the new version's version label at weight 100 (its Deployment does not exist yet)`,
      );
      return steps;
    }
    const key = this.versionLabel(stable, canary);
    const value = labelsOf(weight >= 100 ? canary : stable)[key] as string;
    await this.patchSelector(this.config.activeService, key, value, true);
    if (this.config.previewService)
      steps.push(
        `point Service ${this.target.namespace}/${this.config.previewService} (preview) at ${key}=${labelsOf(canary)[key]}`,
      );
    steps.push(
      `patch Service ${this.target.namespace}/${this.config.activeService} spec.selector ${key}: ${service.spec?.selector?.[key] ?? '(none)'} → ${value} (server dry run passed)`,
    );
    return steps;
  }

  /** The label whose value tells stable and canary pods apart. */
  private versionLabel(stable: Deployment, canary: Deployment, lenient = false): string {
    const s = labelsOf(stable);
    const c = labelsOf(canary);
    const configured = this.config.versionLabel;
    if (configured !== undefined) {
      if (s[configured] === undefined)
        throw new UserError(
          `router-config version-label '${configured}' is missing from the pod template labels of Deployment '${this.target.stable.deployment}' (the new version's Deployment is made from its template), so the Service selector cannot switch between the versions.`,
          {
            hint: `label the pod template by version, e.g. ${configured}: ${imageTag(stable) ?? 'v1'} (and select it in the active Service)`,
          },
        );
      if (c[configured] === undefined)
        throw new UserError(
          `router-config version-label '${configured}' is missing from the pod template labels of Deployment '${this.target.canary.deployment}'.`,
          { hint: `label both pod templates, e.g. ${configured}: ${imageTag(canary) ?? 'v2'}` },
        );
      return configured;
    }
    const keys = [...USUAL_VERSION_LABELS, ...Object.keys(c).sort()];
    const key = keys.find((k) => c[k] !== undefined && s[k] !== undefined && (lenient || c[k] !== s[k]));
    if (key === undefined)
      throw new UserError(
        `The pod templates of Deployments '${this.target.stable.deployment}' and '${this.target.canary.deployment}' have no label telling the versions apart, so the Service selector cannot switch between them.`,
        {
          hint: 'label the pod templates by version (e.g. version: v1 and version: v2) and set router-config version-label: version',
        },
      );
    return key;
  }

  private async pointPreview(active: ServiceObject, key: string, canaryValue: string): Promise<void> {
    const name = this.config.previewService as string;
    const { namespace } = this.target;
    const existing = await getOptional<ServiceObject>(this.deps.client, 'Service', namespace, name);
    if (existing) {
      const annotations = existing.metadata?.annotations ?? {};
      // Remember the user's own selector once (a second call must not record our own value as theirs).
      const remember =
        !isManaged(existing) && annotations[PREVIEW_PREVIOUS_ANNOTATION] === undefined
          ? { [PREVIEW_PREVIOUS_ANNOTATION]: JSON.stringify({ [key]: existing.spec?.selector?.[key] ?? null }) }
          : {};
      await this.deps.client.patch(
        'Service',
        { namespace, name },
        { metadata: { annotations: remember }, spec: { selector: { [key]: canaryValue } } },
        'merge',
      );
      return;
    }
    const ports = (active.spec?.ports ?? []).map((p) => {
      const { nodePort: _n, ...rest } = p as Record<string, unknown>;
      return rest;
    });
    await this.deps.client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace,
        labels: { ...MANAGED_LABELS, 'deploy-actions.dev/role': 'preview', 'deploy-actions.dev/app': this.target.app },
      },
      spec: { type: 'ClusterIP', ports, selector: { ...active.spec?.selector, [key]: canaryValue } },
    });
  }

  /**
   * Promote: delete the preview Service we created; one the user owns keeps pointing at the new version (now
   * the stable's). Abort (`restore`): the user's own is pointed back at what it selected before, so it never
   * points at a green that is scaled away.
   */
  private async removePreview(restore = false): Promise<void> {
    if (!this.config.previewService) return;
    const { namespace } = this.target;
    const name = this.config.previewService;
    const preview = await getOptional<ServiceObject>(this.deps.client, 'Service', namespace, name);
    if (preview === undefined) return;
    if (isManaged(preview)) {
      await deleteIfPresent(this.deps.client, 'Service', namespace, name);
      return;
    }
    const previous = preview.metadata?.annotations?.[PREVIEW_PREVIOUS_ANNOTATION];
    if (previous === undefined) return;
    let selector: Record<string, string | null> = {};
    try {
      if (restore) selector = JSON.parse(previous) as Record<string, string | null>;
    } catch {
      this.deps.log?.warning(`Service ${name}: annotation ${PREVIEW_PREVIOUS_ANNOTATION} is not JSON; selector left`);
    }
    await this.deps.client.patch(
      'Service',
      { namespace, name },
      { metadata: { annotations: { [PREVIEW_PREVIOUS_ANNOTATION]: null } }, spec: { selector } },
      'merge',
    );
  }

  private async patchSelector(name: string, key: string, value: string, dryRun = false): Promise<void> {
    await this.deps.client.patch(
      'Service',
      { namespace: this.target.namespace, name },
      { spec: { selector: { [key]: value } } },
      'merge',
      { dryRun },
    );
  }

  private activeService(): Promise<ServiceObject> {
    return getRequired<ServiceObject>(
      this.deps.client,
      'Service',
      this.target.namespace,
      this.config.activeService,
      'Service',
      `create the Service users reach (selecting the stable pods, e.g. selector: { app: ${this.target.app}, version: v1 }), or set router-config active-service`,
    );
  }

  private deployment(which: 'stable' | 'canary'): Promise<Deployment> {
    const name = this.target[which].deployment;
    return getRequired<Deployment>(
      this.deps.client,
      'Deployment',
      this.target.namespace,
      name,
      `${which === 'stable' ? 'Stable' : 'Canary'} Deployment`,
      which === 'stable'
        ? 'set deployments to the name of the running Deployment'
        : 'the canary Deployment is created by canary-promote before traffic moves',
    );
  }
}

/** The first container's image tag (`ghcr.io/acme/web:v1` → `v1`), for examples in messages. */
function imageTag(deployment: Deployment): string | undefined {
  const image = deployment.spec?.template?.spec?.containers?.[0]?.image?.split('@')[0];
  const colon = image?.lastIndexOf(':') ?? -1;
  return image && colon > image.lastIndexOf('/') ? image.slice(colon + 1) : undefined;
}

function describeSelector(selector: Record<string, string>): string {
  const text = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return text === '' ? '(nothing)' : text;
}

function labelsOf(deployment: Deployment): Record<string, string> {
  return deployment.spec?.template?.metadata?.labels ?? {};
}
