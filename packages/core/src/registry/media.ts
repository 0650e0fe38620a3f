/** Manifest media types and what a manifest refers to (child manifests of an index, config and layer blobs). */
import { createHash } from 'node:crypto';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Every manifest type we read, so a registry never converts a list or index into one platform's manifest. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export function isIndex(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

interface ManifestJson {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
}

/** The media type a manifest declares in its body (the Content-Type is only the registry's word for it). */
export function declaredMediaType(bytes: Uint8Array, fallback: string): string {
  const json = parseManifest(bytes);
  if (json.mediaType) return json.mediaType;
  if (json.manifests) return OCI_INDEX;
  return fallback || OCI_MANIFEST;
}

export function parseManifest(bytes: Uint8Array): ManifestJson {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as ManifestJson;
}

/** Child manifests of an index (empty for an image manifest). */
export function childManifests(bytes: Uint8Array): Descriptor[] {
  return parseManifest(bytes).manifests ?? [];
}

/** Config and layer blobs of an image manifest (empty for an index). */
export function blobsOf(bytes: Uint8Array): Descriptor[] {
  const json = parseManifest(bytes);
  return [...(json.config ? [json.config] : []), ...(json.layers ?? [])];
}
