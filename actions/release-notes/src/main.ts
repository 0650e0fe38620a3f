/**
 * release-notes: notes from conventional commits and pull requests, CHANGELOG.md, and the GitHub Release, in
 * one step. The adapter reads the inputs and calls `createReleaseNotes` (core/release-notes).
 */
import { InputError } from '@deploy-actions/core/errors';
import { boolean, defineInputs, filePath, integer, list, string, structured } from '@deploy-actions/core/inputs';
import {
  createReleaseNotes,
  type NotesConfig,
  parseImages,
  parseNotesConfig,
  renderReleaseNotesSummary,
} from '@deploy-actions/core/release-notes';
import { type ActionDefinition, commonInputs, type Runtime } from '@deploy-actions/core/runtime';

export const inputs = defineInputs({
  from: string({ example: 'v1.4.0' }),
  to: string({ default: 'HEAD', example: 'HEAD' }),
  tag: string({ example: 'v1.5.0' }),
  paths: list({ example: 'services/api, libs/shared' }),
  'tag-prefix': string({ example: 'api/' }),
  'include-prereleases': boolean({ default: 'false' }),
  config: structured<NotesConfig>({
    example: '{ sections: [{ title: Features, types: [feat] }], exclude: { types: [chore] } }',
    validate: (document, fail) => {
      try {
        return parseNotesConfig(document);
      } catch (error) {
        return fail((error as Error).message.replace(/^input 'config': /, ''));
      }
    },
  }),
  'release-config': string({ default: '.github/release.yml', example: '.github/release.yml' }),
  template: string({ example: '"{{sections}}\\n\\n{{compare}}"' }),
  approvers: boolean({ default: 'false' }),
  'require-approvals': integer({ default: '0', min: 0, max: 100, example: '2' }),
  source: string({ choices: ['commits', 'github'], default: 'commits' }),
  changelog: filePath({ mustExist: false, example: 'CHANGELOG.md' }),
  'notes-file': filePath({ mustExist: false, example: 'release-notes.md' }),
  release: boolean({ default: 'false' }),
  draft: boolean({ default: 'false' }),
  prerelease: string({ choices: ['auto', 'true', 'false'], default: 'auto' }),
  'make-latest': string({ choices: ['true', 'false', 'legacy'], default: 'true' }),
  'release-name': string({ example: 'Release v1.5.0' }),
  images: string({ example: 'api=ghcr.io/acme/api@sha256:0123…' }),
  'deployment-url': string({
    pattern: /^https?:\/\/\S+$/,
    example: 'https://github.com/acme/api/deployments/production',
  }),
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

async function githubAccess(rt: Runtime, token: string | undefined) {
  if (token === undefined || token.trim() === '') return undefined;
  const { createDeploymentRecorder, GitHubApi, githubContext } = await import('@deploy-actions/core/github');
  const context = githubContext(rt.env);
  const api = new GitHubApi(rt, {
    token,
    apiUrl: context.apiUrl,
    graphqlUrl: context.graphqlUrl,
    repository: context.repository,
  });
  const activeDeployment = (environment: string) =>
    createDeploymentRecorder(rt, token, { context }).activeDeployment(environment, { limit: 20 });
  return { api, repository: context.repository, activeDeployment };
}

const releaseNotes: ActionDefinition<Inputs> = {
  name: 'release-notes',
  inputs,
  async run(rt, values) {
    const images = parseImages(values.images ?? '');
    if ('problem' in images)
      throw new InputError('images', images.problem as string, values.images, 'api=ghcr.io/acme/api@sha256:0123…');
    const result = await createReleaseNotes(rt, {
      cwd: rt.workspace,
      from: values.from,
      to: values.to,
      tag: values.tag,
      paths: values.paths,
      tagPrefix: values['tag-prefix'],
      includePrereleases: values['include-prereleases'],
      config: values.config,
      releaseConfig: values['release-config'],
      template: values.template,
      approvers: values.approvers,
      requireApprovals: values['require-approvals'],
      source: values.source,
      changelog: values.changelog,
      notesFile: values['notes-file'],
      release: values.release
        ? {
            draft: values.draft,
            prerelease: values.prerelease === 'auto' ? undefined : values.prerelease === 'true',
            makeLatest: values['make-latest'],
            name: values['release-name'],
          }
        : undefined,
      github: await githubAccess(rt, values.token),
      repository: rt.env['GITHUB_REPOSITORY'],
      serverUrl: rt.env['GITHUB_SERVER_URL'],
      deployment: {
        images: images as Record<string, string>,
        environment: values.environment,
        url: values['deployment-url'],
      },
      dryRun: values['dry-run'],
    });
    rt.summary.append(renderReleaseNotesSummary(result, values['dry-run']));
    const { notes } = result;
    return {
      result: {
        notes,
        // Where the section went, not the whole file.
        changelog: result.changelog && { ...result.changelog, text: undefined },
        release: result.release,
        requests: result.requests,
      },
      outputs: {
        notes: result.markdown,
        'notes-file': result.notesFile ?? '',
        version: notes.version ?? '',
        tag: notes.tag ?? '',
        'previous-tag': notes.previousTag ?? '',
        changes: notes.changes,
        json: JSON.stringify(notes),
        'release-url': result.release?.url ?? '',
      },
    };
  },
};

export default releaseNotes;
