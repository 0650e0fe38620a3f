/**
 * Promote without building: copy an image that already exists (by tag or
 * digest) to new tags through the registry API, so production runs exactly the
 * digest that was tested.
 *
 * Everything is checked before anything is written: the source exists, and no
 * target tag points at another digest (unless `overwrite`). Then, per target
 * repository, blobs are mounted from the source repository (no bytes move;
 * copied only when the registry refuses a mount, e.g. across registries), the
 * child manifests of a list or index are put by digest, and the top manifest's
 * exact bytes are put under each tag. A tag already at the digest is left.
 */
import { UserError } from '../errors';
import { type Manifest, pullScope, pushScope, type RegistryClient } from './client';
import { blobsOf, childManifests, type Descriptor, isIndex } from './media';
import { formatReference, type ImageReference, parseImageReference } from './reference';

export interface PromoteTarget {
  /** Full reference with a tag, e.g. `ghcr.io/acme/web:1.2.3`. */
  image: string;
}

export type TargetState = 'created' | 'unchanged' | 'overwritten';

export interface PromoteResult {
  source: string;
  digest: string;
  mediaType: string;
  platforms: string[];
  targets: { image: string; state: TargetState; previous?: string }[];
  /** What moved: blob mounts, blob copies (bytes), manifests written. */
  mounted: number;
  copiedBlobs: number;
  copiedBytes: number;
  manifestsWritten: number;
}

export interface PromoteOptions {
  overwrite?: boolean;
  /** Plan and check only; write nothing. */
  dryRun?: boolean;
  log?: (message: string) => void;
}

/** The whole image behind a reference: the top manifest, its children and every blob they name. */
interface SourceImage {
  ref: ImageReference;
  top: Manifest;
  children: { descriptor: Descriptor; manifest: Manifest }[];
  blobs: Descriptor[];
}

export async function promoteImage(
  client: RegistryClient,
  from: string,
  targets: string[],
  options: PromoteOptions = {},
): Promise<PromoteResult> {
  const sourceRef = parseImageReference(from, 'promote-from');
  const targetRefs = targets.map((target) => parseImageReference(target, 'target image'));
  for (const [index, ref] of targetRefs.entries()) {
    if (ref.tag === undefined || ref.digest !== undefined)
      throw new UserError(`Promote target ${JSON.stringify(targets[index])} needs a tag and no digest`);
  }
  client.planScopes(sourceRef.registry, [pullScope(sourceRef.repository)]);
  for (const ref of targetRefs) client.planScopes(ref.registry, [pushScope(ref.repository)]);
  const source = await readSource(client, sourceRef, from);
  const digest = source.top.digest;

  // Check every target before writing anything.
  const plans: { ref: ImageReference; state: TargetState; previous?: string }[] = [];
  const refused: string[] = [];
  for (const ref of targetRefs) {
    const head = await client.manifestExists(ref);
    if (!head) plans.push({ ref, state: 'created' });
    else if (head.digest === digest) plans.push({ ref, state: 'unchanged' });
    else if (options.overwrite) plans.push({ ref, state: 'overwritten', previous: head.digest });
    else refused.push(`${formatReference(ref)} points at ${head.digest}`);
  }
  if (refused.length > 0) {
    throw new UserError(`Refusing to promote ${from} (${digest}): ${refused.join('; ')}. Nothing was pushed.`, {
      hint: 'Set overwrite: true to move these tags, or pick new tags.',
    });
  }

  const result: PromoteResult = {
    source: formatReference(sourceRef),
    digest,
    mediaType: source.top.mediaType,
    platforms: source.children.map(({ descriptor }) => platformName(descriptor)),
    targets: plans.map((plan) => ({
      image: formatReference(plan.ref),
      state: plan.state,
      ...(plan.previous ? { previous: plan.previous } : {}),
    })),
    mounted: 0,
    copiedBlobs: 0,
    copiedBytes: 0,
    manifestsWritten: 0,
  };
  if (options.dryRun) return result;

  const prepared = new Set<string>();
  const moved: string[] = [];
  for (const plan of plans) {
    if (plan.state === 'unchanged') continue;
    const { registry, repository } = plan.ref;
    const key = `${registry}/${repository}`;
    try {
      if (!prepared.has(key) && key !== `${sourceRef.registry}/${sourceRef.repository}`) {
        await copyContent(client, source, registry, repository, result, options.log);
      }
      prepared.add(key);
      await client.putManifest(registry, repository, plan.ref.tag!, source.top);
    } catch (error) {
      // Say exactly where things stand: which tags already point at the digest, which were not touched.
      const untouched = plans.filter(
        (other) => other.state !== 'unchanged' && !moved.includes(formatReference(other.ref)),
      );
      throw new UserError(
        `Promotion of ${digest} stopped at ${formatReference(plan.ref)}: ${(error as Error).message}. ` +
          `Already at the digest: ${moved.length > 0 ? moved.join(', ') : 'none'}; not changed: ${untouched.map((other) => formatReference(other.ref)).join(', ')}. Running the step again finishes the job.`,
        { cause: error },
      );
    }
    moved.push(formatReference(plan.ref));
    result.manifestsWritten++;
    options.log?.(`${formatReference(plan.ref)} → ${digest} (${plan.state})`);
  }
  return result;
}

async function readSource(client: RegistryClient, ref: ImageReference, written: string): Promise<SourceImage> {
  const top = await client.getManifest(ref);
  if (!top) {
    throw new UserError(
      `promote-from ${JSON.stringify(written)} does not exist in ${ref.registry}/${ref.repository}. Nothing was pushed.`,
      {
        hint: 'Name an image staging pushed, e.g. ghcr.io/acme/web:sha-1a2b3c4 or ghcr.io/acme/web@sha256:<64 hex>.',
      },
    );
  }
  const children: SourceImage['children'] = [];
  const blobs = new Map<string, Descriptor>();
  const manifests = isIndex(top.mediaType) || childManifests(top.bytes).length > 0 ? childManifests(top.bytes) : [];
  for (const descriptor of manifests) {
    const manifest = await client.getManifest({ ...ref, tag: undefined, digest: descriptor.digest });
    if (!manifest)
      throw new UserError(
        `${formatReference(ref)} names ${descriptor.digest} (${platformName(descriptor)}), which the registry does not have`,
      );
    children.push({ descriptor, manifest: { ...manifest, mediaType: descriptor.mediaType || manifest.mediaType } });
    for (const blob of blobsOf(manifest.bytes)) blobs.set(blob.digest, blob);
  }
  for (const blob of blobsOf(top.bytes)) blobs.set(blob.digest, blob);
  return { ref, top, children, blobs: [...blobs.values()] };
}

/** Make every blob and child manifest of the source present in another repository. */
async function copyContent(
  client: RegistryClient,
  source: SourceImage,
  registry: string,
  repository: string,
  result: PromoteResult,
  log?: (message: string) => void,
): Promise<void> {
  const sameRegistry = registry === source.ref.registry;
  for (const blob of source.blobs) {
    if (sameRegistry && (await client.mountBlob(registry, repository, blob.digest, source.ref.repository))) {
      result.mounted++;
      continue;
    }
    if (await client.blobExists(registry, repository, blob.digest)) continue;
    const bytes = await client.getBlob(source.ref.registry, source.ref.repository, blob.digest);
    await client.uploadBlob(registry, repository, bytes);
    result.copiedBlobs++;
    result.copiedBytes += bytes.length;
    log?.(
      `copied ${blob.digest} (${bytes.length} bytes) into ${registry}/${repository}: the registry could not mount it`,
    );
  }
  for (const child of source.children) {
    await client.putManifest(registry, repository, child.descriptor.digest, child.manifest);
    result.manifestsWritten++;
  }
}

function platformName(descriptor: Descriptor): string {
  const platform = descriptor.platform;
  if (!platform) return descriptor.digest.slice(0, 19);
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}
