/**
 * build-tag: docker/metadata-action's inputs and outputs (tags, labels, annotations, JSON, bake files,
 * DOCKER_METADATA_OUTPUT_*), plus the next version from git, services in one bake file, promote by retag
 * and the git tag. The domain is `@deploy-actions/core/build-tag`.
 */
import {
  BUMPS,
  buildTag,
  renderBuildTagSummary,
  type ServiceSpec,
  validateServices,
} from '@deploy-actions/core/build-tag';
import { InputError } from '@deploy-actions/core/errors';
import { boolean, defineInputs, string, structured } from '@deploy-actions/core/inputs';
import { type ActionDefinition, commonInputs, type Runtime } from '@deploy-actions/core/runtime';

export const inputs = defineInputs({
  context: string({ choices: ['workflow', 'git'], default: 'workflow' }),
  images: string({ example: 'ghcr.io/acme/web' }),
  tags: string({ example: 'type=semver,pattern={{version}}' }),
  flavor: string({ example: 'latest=auto' }),
  labels: string({ example: 'org.opencontainers.image.vendor=Acme' }),
  annotations: string({ example: 'org.opencontainers.image.vendor=Acme' }),
  'sep-tags': string({ example: ',' }),
  'sep-labels': string({ example: ',' }),
  'sep-annotations': string({ example: ',' }),
  'bake-target': string({
    default: 'docker-metadata-action',
    pattern: /^[A-Za-z0-9_-]+$/,
    example: 'docker-metadata-action',
  }),
  'github-token': string({ secret: true, example: '${{ github.token }}' }),
  services: structured<ServiceSpec[]>({
    validate: validateServices,
    example: '[{ name: api, image: ghcr.io/acme/api, context: services/api }]',
  }),
  bump: string({ choices: BUMPS, example: 'auto' }),
  'prerelease-id': string({ pattern: /^[0-9A-Za-z-]+$/, example: 'rc' }),
  'tag-prefix': string({ pattern: /^[\w./@-]*$/, example: 'api/' }),
  'git-tag': boolean({ default: 'false' }),
  'promote-from': string({ example: 'ghcr.io/acme/web:sha-1a2b3c4' }),
  overwrite: boolean({ default: 'false' }),
  'registry-username': string({ example: '${{ github.actor }}' }),
  'registry-password': string({ secret: true, example: '${{ secrets.GITHUB_TOKEN }}' }),
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

async function githubApi(rt: Runtime, token: string | undefined) {
  if (!token?.trim()) return undefined;
  const { GitHubApi, githubContext } = await import('@deploy-actions/core/github');
  const context = githubContext(rt.env);
  return new GitHubApi(rt, { token, apiUrl: context.apiUrl, repository: context.repository });
}

/** A separator as given, spaces kept (`sep-tags: ", "`), as metadata-action reads it; a newline when not given. */
function separator(rt: Runtime, name: 'sep-tags' | 'sep-labels' | 'sep-annotations'): string {
  return (rt.inputs.raw ?? rt.inputs.get).call(rt.inputs, name) ?? '\n';
}

const buildTagAction: ActionDefinition<Inputs> = {
  name: 'build-tag',
  inputs,
  async run(rt, values) {
    const username = values['registry-username'];
    const password = values['registry-password'];
    if ((username === undefined) !== (password === undefined)) {
      const missing = username === undefined ? 'registry-username' : 'registry-password';
      throw new InputError(
        missing,
        'is needed with the other registry credential',
        undefined,
        missing === 'registry-username' ? '${{ github.actor }}' : '${{ secrets.GITHUB_TOKEN }}',
      );
    }
    const result = await buildTag(rt, {
      context: values.context,
      images: values.images,
      tags: values.tags,
      flavor: values.flavor,
      labels: values.labels,
      annotations: values.annotations,
      separators: {
        tags: separator(rt, 'sep-tags'),
        labels: separator(rt, 'sep-labels'),
        annotations: separator(rt, 'sep-annotations'),
      },
      bakeTarget: values['bake-target'],
      services: values.services,
      bump: values.bump,
      prereleaseId: values['prerelease-id'],
      tagPrefix: values['tag-prefix'],
      gitTag: values['git-tag'],
      promoteFrom: values['promote-from'],
      overwrite: values.overwrite,
      registry: username && password ? { credentials: () => ({ username, password }) } : {},
      dryRun: values['dry-run'],
      api: await githubApi(rt, values['github-token'] ?? values.token),
    });
    rt.summary.append(renderBuildTagSummary(result, values['dry-run']));
    const { next, promote } = result;
    return {
      result: {
        verdict: 'computed',
        version: result.meta.version.main ?? '',
        tags: result.meta.tags,
        ...(next ? { next } : {}),
        ...(result.services.length > 0
          ? {
              services: result.services.map(({ service, tags, version }) => ({
                name: service.name,
                image: service.image,
                version,
                tags,
              })),
            }
          : {}),
        ...(promote ? { promote } : {}),
        ...(result.gitTag ? { gitTag: result.gitTag } : {}),
      },
      outputs: {
        ...Object.fromEntries(result.outputs),
        'next-version': next?.version ?? '',
        'previous-version': next?.previous ?? '',
        bump: next?.bump ?? '',
        'is-prerelease': next ? String(next.isPrerelease) : '',
        digest: promote?.digest ?? '',
      },
    };
  },
};

export default buildTagAction;
