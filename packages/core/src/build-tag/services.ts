/**
 * Several images in one step: `services:` gives each one its own tags and labels (the same rules, its own
 * image name) and one bake file with a target per service, so `docker buildx bake` builds them all at once.
 */
import type { Fail } from '../inputs/reader';

export interface ServiceSpec {
  name: string;
  image: string;
  context: string;
  dockerfile: string | undefined;
  /** Build target stage in the Dockerfile. */
  target: string | undefined;
  platforms: string[] | undefined;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const KEYS = ['name', 'image', 'context', 'dockerfile', 'target', 'platforms'];

/** Validate the parsed `services` block: a list of `{ name, image, context?, dockerfile?, target?, platforms? }`. */
export function validateServices(document: unknown, fail: Fail): ServiceSpec[] {
  if (!Array.isArray(document)) return fail('must be a list of services');
  const names = new Set<string>();
  return document.map((entry, index) => {
    const where = `service ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return fail(`${where} must be a mapping with name and image`);
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record))
      if (!KEYS.includes(key)) fail(`${where}: unknown key ${JSON.stringify(key)} (${KEYS.join(', ')})`);
    const text = (key: string) => {
      const value = record[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'string' || value.trim() === '') return fail(`${where}: ${key} must be a non-empty string`);
      return value.trim();
    };
    const name = text('name') ?? fail(`${where}: name is missing`);
    if (!NAME.test(name))
      fail(`${where}: name ${JSON.stringify(name)} may hold letters, digits, _ and - only (it is a bake target)`);
    if (names.has(name)) fail(`${where}: the name ${JSON.stringify(name)} is used twice`);
    names.add(name);
    const platforms = record.platforms;
    if (platforms !== undefined && (!Array.isArray(platforms) || platforms.some((p) => typeof p !== 'string')))
      fail(`${where}: platforms must be a list like [linux/amd64, linux/arm64]`);
    return {
      name,
      image: text('image') ?? fail(`${where} (${name}): image is missing`),
      context: text('context') ?? '.',
      dockerfile: text('dockerfile'),
      target: text('target'),
      platforms: platforms as string[] | undefined,
    };
  });
}

export interface ServiceBuild {
  service: ServiceSpec;
  tags: string[];
  labels: Record<string, string>;
  annotations: string[];
  version: string | undefined;
}

/** One bake file: a `default` group of every service, and a target per service with its context, tags and labels. */
export function servicesBakeFile(builds: ServiceBuild[]): string {
  const target: Record<string, unknown> = {};
  for (const build of builds) {
    const { service } = build;
    target[service.name] = {
      context: service.context,
      ...(service.dockerfile ? { dockerfile: service.dockerfile } : {}),
      ...(service.target ? { target: service.target } : {}),
      ...(service.platforms ? { platforms: service.platforms } : {}),
      tags: build.tags,
      labels: build.labels,
      annotations: build.annotations,
      args: { DOCKER_META_IMAGES: service.image.toLowerCase(), DOCKER_META_VERSION: build.version },
    };
  }
  return JSON.stringify(
    { group: { default: { targets: builds.map((build) => build.service.name) } }, target },
    null,
    2,
  );
}
