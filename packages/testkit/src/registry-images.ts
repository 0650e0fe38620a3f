/** Images pushed through the registry HTTP API (no Docker engine): random layers, a config, a manifest per platform, and a list or index over them. */
import { randomBytes } from 'node:crypto';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  type RegistryClient,
  sha256Digest,
} from '@deploy-actions/core/registry';

export interface TestImageOptions {
  platforms?: string[];
  layers?: number;
  layerBytes?: number;
  /** `oci` (index + OCI manifests) or `docker` (manifest list + schema 2). Default `docker`. */
  format?: 'oci' | 'docker';
}

export interface PushedImage {
  digest: string;
  mediaType: string;
  platformDigests: string[];
  blobDigests: string[];
  blobBytes: number;
}

export async function pushTestImage(
  client: RegistryClient,
  registry: string,
  repository: string,
  tag: string,
  options: TestImageOptions = {},
): Promise<PushedImage> {
  const oci = options.format === 'oci';
  const platforms = options.platforms ?? ['linux/amd64'];
  const platformDigests: string[] = [];
  const blobDigests: string[] = [];
  const descriptors = [];
  let blobBytes = 0;
  for (const platform of platforms) {
    const [os, architecture] = platform.split('/');
    const layers = [];
    for (let i = 0; i < (options.layers ?? 2); i++) {
      const bytes = randomBytes(options.layerBytes ?? 1024);
      const digest = await client.uploadBlob(registry, repository, bytes);
      layers.push({
        mediaType: oci
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest,
        size: bytes.length,
      });
      blobDigests.push(digest);
      blobBytes += bytes.length;
    }
    const config = Buffer.from(
      JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) } }),
    );
    const configDigest = await client.uploadBlob(registry, repository, config);
    blobDigests.push(configDigest);
    blobBytes += config.length;
    const manifestType = oci ? OCI_MANIFEST : DOCKER_MANIFEST;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: {
          mediaType: oci
            ? 'application/vnd.oci.image.config.v1+json'
            : 'application/vnd.docker.container.image.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers,
      }),
    );
    const digest = sha256Digest(manifest);
    if (platforms.length === 1) {
      await client.putManifest(registry, repository, tag, { bytes: manifest, mediaType: manifestType });
      return { digest, mediaType: manifestType, platformDigests: [digest], blobDigests, blobBytes };
    }
    await client.putManifest(registry, repository, digest, { bytes: manifest, mediaType: manifestType });
    platformDigests.push(digest);
    descriptors.push({ mediaType: manifestType, digest, size: manifest.length, platform: { os, architecture } });
  }
  const indexType = oci ? OCI_INDEX : DOCKER_LIST;
  // Indented on purpose: a client that re-serialised the JSON would change the digest and fail the tests.
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests: descriptors }, null, 3),
  );
  await client.putManifest(registry, repository, tag, { bytes: index, mediaType: indexType });
  return { digest: sha256Digest(index), mediaType: indexType, platformDigests, blobDigests, blobBytes };
}
