/**
 * The optional real services of the demo: a throwaway PostgreSQL (Debian's postgresql, as the tests start it)
 * for migrate and the rollback's restore, and a Docker registry (Debian's docker-registry) for build-tag's
 * promote by retag. Each is started when installed; otherwise the demo says what it skipped and how to
 * install it.
 */

import { RegistryClient } from '@deploy-actions/core/registry';
import { postgresMissing, type RunningPostgres, startPostgres } from '@deploy-actions/testkit/postgres';
import {
  REGISTRY_BINARY,
  type RunningRegistry,
  registryMissing,
  startRegistry,
} from '@deploy-actions/testkit/registry';
import { type PushedImage, pushTestImage } from '@deploy-actions/testkit/registry-images';

export interface Services {
  postgres?: RunningPostgres;
  /** Why PostgreSQL is not used, with how to install it. */
  postgresSkipped?: string;
  registry?: RunningRegistry;
  registrySkipped?: string;
  /** The staging image build-tag promotes (pushed to the registry through its API). */
  staging?: { ref: string; image: PushedImage };
  stop(): Promise<void>;
}

export async function startServices(): Promise<Services> {
  const services: Services = { stop: async () => {} };
  const missingPg = process.env['DEMO_NO_POSTGRES'] ? 'DEMO_NO_POSTGRES is set' : postgresMissing();
  if (missingPg === undefined) services.postgres = await startPostgres();
  else services.postgresSkipped = missingPg;
  const missingRegistry = process.env['DEMO_NO_REGISTRY'] ? 'DEMO_NO_REGISTRY is set' : registryMissing();
  if (missingRegistry === undefined) {
    services.registry = await startRegistry({ auth: 'basic' }).catch((error: unknown) => {
      services.postgres?.stop();
      throw error;
    });
    const registry = services.registry;
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    const image = await pushTestImage(client, registry.host, 'nextgen/market-staging', 'sha-staging', { layers: 2 });
    services.staging = { ref: `${registry.host}/nextgen/market-staging:sha-staging`, image };
  } else services.registrySkipped = missingRegistry.replace(REGISTRY_BINARY, 'docker-registry');
  services.stop = async () => {
    services.postgres?.stop();
    await services.registry?.stop();
  };
  return services;
}
