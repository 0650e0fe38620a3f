/** build-tag: image version, tags and labels as docker/metadata-action makes them, the next version from git, services, promote by retag, git tag. */
export { type GitTagPlan, planGitTagByApi, planGitTagByPush } from './git-tag';
export { BUMPS, type BumpMode, computeNextVersion, type NextVersion, type NextVersionOptions } from './next-version';
export { type BuildTagOptions, type BuildTagResult, buildTag } from './run';
export { type ServiceBuild, type ServiceSpec, servicesBakeFile, validateServices } from './services';
export { renderBuildTagSummary } from './summary';
