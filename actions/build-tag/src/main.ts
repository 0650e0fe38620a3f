/** build-tag: image tags, OCI labels and the release version from git. Inputs only until its issue lands. */
import { defineInputs, keyValues, list, string } from '@deploy-actions/core/inputs';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  images: list({ example: 'ghcr.io/acme/web' }),
  // Rules contain commas, so this is one rule per line (parsed by the build-tag issue).
  tags: string({ default: 'type=semver,pattern={{version}}\ntype=sha', example: 'type=semver,pattern={{version}}' }),
  labels: keyValues({ example: 'org.opencontainers.image.vendor=Acme' }),
  'source-image': string({ example: 'ghcr.io/acme/web:sha-1a2b3c4' }),
  'registry-username': string({ example: '${{ github.actor }}' }),
  'registry-password': string({ secret: true, example: '${{ secrets.GITHUB_TOKEN }}' }),
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const buildTag: ActionDefinition<Inputs> = {
  name: 'build-tag',
  inputs,
  async run(rt, values) {
    return inputsOnlyOutcome(rt, 'build-tag', 'a later issue', inputs, values);
  },
};

export default buildTag;
