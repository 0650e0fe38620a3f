/** release-notes: notes from conventional commits and pull requests. Inputs only until its issue lands. */
import { boolean, defineInputs, filePath, string, structured } from '@deploy-actions/core/inputs';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  from: string({ example: 'v1.1.0' }),
  to: string({ default: 'HEAD', example: 'HEAD' }),
  tag: string({ example: 'v1.2.0' }),
  config: structured({ example: '{ categories: [{ title: Features, types: [feat] }] }' }),
  'output-file': filePath({ mustExist: false, example: 'CHANGELOG-next.md' }),
  'create-release': boolean({ default: 'false' }),
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const releaseNotes: ActionDefinition<Inputs> = {
  name: 'release-notes',
  inputs,
  async run(rt, values) {
    return inputsOnlyOutcome(rt, 'release-notes', 'a later issue', inputs, values);
  },
};

export default releaseNotes;
