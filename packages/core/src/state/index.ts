/**
 * What a release leaves in the cluster for the next run to find: the app's Lease (who may change it now),
 * the rollout record (where it stands) and who is running (holder, run URL, run id).
 */
export {
  FORCE_HINT,
  LEASE_SECONDS,
  LeaseLostError,
  type LeaseOptions,
  RolloutLease,
  readLease,
} from './lease';
export * from './record';
export { holderIdentity, type RunIdentity, runIdentity, runLink, runUrlOf } from './run-identity';
export { githubRunEnded, type RunRequester } from './run-liveness';
