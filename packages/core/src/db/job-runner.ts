/**
 * The migration as a Kubernetes Job: a Job manifest given whole, or one made from a CronJob's template
 * (the SaaS runbook's way), with the new image set on its containers and env from a Secret.
 */
import { InputError } from '../errors';
import type { KubeClient } from '../kube/client';
import { type Job, jobFromCronJob } from './jobs';
import { withoutPasswords } from './restore';

export type JobSpec =
  | { kind: 'manifest'; job: Job; image?: string | undefined; secret?: string | undefined }
  | { kind: 'cronjob'; cronjob: string; image?: string | undefined; secret?: string | undefined };

const EXAMPLE = '{ cronjob: db-migrate, image: ghcr.io/acme/api:v2, secret: db-credentials } or a Job manifest';

/** Reads the `job` input: a Job manifest (kind: Job), or `cronjob` with optional `image` and `secret`. */
export function parseJobSpec(document: unknown, input = 'job'): JobSpec {
  const fail = (problem: string): never => {
    throw new InputError(input, problem, withoutPasswords(JSON.stringify(document)), EXAMPLE);
  };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return fail('must be a mapping');
  const spec = document as Record<string, any>;
  if (spec['kind'] === 'Job') {
    const containers = spec['spec']?.template?.spec?.containers;
    if (!Array.isArray(containers) || containers.length === 0) return fail('the Job has no containers');
    if (!spec['metadata']?.name && !spec['metadata']?.generateName) return fail('the Job needs metadata.name');
    return { kind: 'manifest', job: spec as Job };
  }
  const known = ['cronjob', 'image', 'secret'];
  const unknown = Object.keys(spec).filter((key) => !known.includes(key));
  if (unknown.length > 0)
    fail(`unknown key ${unknown.join(', ')} (known: ${known.join(', ')}, or a whole Job manifest)`);
  if (typeof spec['cronjob'] !== 'string' || spec['cronjob'] === '') return fail('cronjob must be a CronJob name');
  for (const key of ['image', 'secret'])
    if (spec[key] !== undefined && typeof spec[key] !== 'string') fail(`${key} must be a string`);
  return { kind: 'cronjob', cronjob: spec['cronjob'], image: spec['image'], secret: spec['secret'] };
}

/** The Job to create, named uniquely for this run, with the image and the Secret's env applied. */
export async function migrationJob(
  spec: JobSpec,
  overrides: { image?: string | undefined; secret?: string | undefined },
  context: { client: KubeClient; namespace: string; now: number },
): Promise<Job> {
  const suffix = `migrate-${Math.floor(context.now / 1000)}`;
  const job: Job =
    spec.kind === 'cronjob'
      ? await jobFromCronJob(context.client, context.namespace, spec.cronjob, `${spec.cronjob}-${suffix}`)
      : structuredClone(spec.job);
  if (spec.kind === 'manifest') {
    const base = job.metadata?.name ?? job.metadata?.generateName ?? 'migration';
    job.metadata = { ...job.metadata, name: `${base.replace(/-+$/, '')}-${suffix}`.slice(0, 63) };
    delete (job.metadata as Record<string, unknown>)['generateName'];
  }
  const image = overrides.image ?? spec.image;
  const secret = overrides.secret ?? spec.secret;
  for (const container of job.spec?.template?.spec?.containers ?? []) {
    if (image) container.image = image;
    if (secret) container.envFrom = [...(container.envFrom ?? []), { secretRef: { name: secret } }];
  }
  job.metadata!.labels = { ...job.metadata?.labels, 'app.kubernetes.io/managed-by': 'deploy-actions' };
  return job;
}
