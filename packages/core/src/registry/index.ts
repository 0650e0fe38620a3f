/** Docker Registry v2 / OCI distribution: references, the HTTP client (token and basic auth), and promote by retag. */
export { type Challenge, parseChallenge } from './challenge';
export {
  type FetchLike,
  type Manifest,
  type ManifestHead,
  pullScope,
  pushScope,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryCredentials,
  RegistryError,
  type RegistryStats,
} from './client';
export * from './media';
export { type PromoteOptions, type PromoteResult, promoteImage, type TargetState } from './promote';
export * from './reference';
