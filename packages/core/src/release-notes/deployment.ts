/**
 * Deployment facts for the notes: the images and digests build-tag produced, the environment, the GitHub
 * Deployment. Given as inputs; shown as a small table.
 */
import type { SuccessfulDeployment } from '../github';
import { table } from '../report';

export interface DeploymentFacts {
  /** `name → image reference` (a digest reference when known: `ghcr.io/acme/api@sha256:...`). */
  images: Record<string, string>;
  environment: string | undefined;
  /** The GitHub Deployment (or environment) URL. */
  url: string | undefined;
  /** The environment's active GitHub Deployment of this very commit, when a token found one. */
  deployment?: { id: number; state: string; environmentUrl: string | undefined } | undefined;
}

/**
 * The facts completed from the environment's active GitHub Deployment when it deployed `commit`: its id, state
 * and URL, and its images when none were given. A Deployment of another commit says nothing about this release.
 */
export function withDeployment(
  facts: DeploymentFacts,
  active: SuccessfulDeployment | undefined,
  commit: string,
): DeploymentFacts {
  if (!active || active.sha !== commit) return facts;
  const images = Object.keys(facts.images).length > 0 ? facts.images : { ...(active.payload.images ?? {}) };
  const environmentUrl = active.status.environment_url ?? undefined;
  return { ...facts, images, deployment: { id: active.id, state: active.latestState, environmentUrl } };
}

/** `name=ref` lines (or a bare `ref` named after its repository), or a JSON object / list from build-tag. */
export function parseImages(raw: string): Record<string, string> | { problem: string } {
  const text = raw.trim();
  if (text === '') return {};
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      const items = Array.isArray(parsed)
        ? parsed
        : Object.entries(parsed as object).map(([k, v]) => ({ name: k, ref: v }));
      const images: Record<string, string> = {};
      for (const item of items) {
        if (typeof item === 'string') images[repositoryName(item)] = item;
        else if (item && typeof item === 'object') {
          const { name, ref, image, digest } = item as Record<string, unknown>;
          const reference = String(ref ?? image ?? '');
          if (reference === '') return { problem: 'a JSON entry has no image reference' };
          const full =
            typeof digest === 'string' && !reference.includes('@') ? `${reference.split(':')[0]}@${digest}` : reference;
          images[typeof name === 'string' ? name : repositoryName(full)] = full;
        }
      }
      return images;
    } catch {
      return { problem: 'starts like JSON but is not valid JSON' };
    }
  }
  const images: Record<string, string> = {};
  for (const line of text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean)) {
    const eq = line.indexOf('=');
    const ref = eq === -1 ? line : line.slice(eq + 1).trim();
    if (!/^[\w.\-/:@]+$/.test(ref)) return { problem: `${JSON.stringify(line)} is not an image reference` };
    images[eq === -1 ? repositoryName(ref) : line.slice(0, eq).trim()] = ref;
  }
  return images;
}

function repositoryName(ref: string): string {
  const path = ref.split('@')[0]!.replace(/:[^/]*$/, '');
  return path.split('/').pop() ?? path;
}

export function renderDeployment(facts: DeploymentFacts | undefined, level = 3): string {
  if (!facts || (Object.keys(facts.images).length === 0 && !facts.environment && !facts.url && !facts.deployment))
    return '';
  const lines = [`${'#'.repeat(level)} Deployment`, ''];
  const where = [
    facts.environment ? `Environment: **${facts.environment}**` : '',
    facts.url ? `Deployment: ${facts.url}` : '',
    facts.deployment
      ? `GitHub Deployment #${facts.deployment.id} (${facts.deployment.state})${facts.deployment.environmentUrl ? `: ${facts.deployment.environmentUrl}` : ''}`
      : '',
  ].filter(Boolean);
  if (where.length > 0) lines.push(where.join(' · '), '');
  const images = Object.entries(facts.images);
  if (images.length > 0) {
    lines.push(
      table(
        ['image', 'reference', 'digest'],
        images.map(([name, ref]) => [name, ref.split('@')[0]!, ref.includes('@') ? `\`${ref.split('@')[1]}\`` : '']),
      ),
    );
  }
  return lines.join('\n').trim();
}
