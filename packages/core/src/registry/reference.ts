/**
 * Image references as Docker reads them: `[registry/]repository[:tag][@digest]`.
 * A first component with a dot, a colon or equal to `localhost` is a registry host;
 * otherwise the image lives on Docker Hub (`docker.io`, with `library/` for
 * single-name images), whose API host is `registry-1.docker.io`.
 */
import { UserError } from '../errors';

export interface ImageReference {
  /** Registry as written (`ghcr.io`, `localhost:5000`, `docker.io`). */
  registry: string;
  /** Repository path inside the registry (`acme/web`, `library/nginx`). */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

const DOCKER_HUB = 'docker.io';
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

export function isValidTag(text: string): boolean {
  return TAG.test(text);
}

/** Parse `name[:tag][@digest]`; throws a UserError naming `what` (e.g. the input) when malformed. */
export function parseImageReference(text: string, what = 'image'): ImageReference {
  const trimmed = text.trim();
  const example = 'ghcr.io/acme/web:1.2.3 or ghcr.io/acme/web@sha256:<64 hex>';
  const fail = (problem: string): never => {
    throw new UserError(`${what} ${JSON.stringify(text)}: ${problem}`, { hint: `Example: ${example}` });
  };
  if (trimmed === '') fail('empty image reference');
  let rest = trimmed;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) fail(`invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag))
      fail(`invalid tag ${JSON.stringify(tag)} (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  const { registry, repository } = splitName(rest);
  if (!REPOSITORY.test(repository))
    fail(`invalid repository name ${JSON.stringify(repository)} (lowercase letters, digits and separators)`);
  return { registry, repository, tag, digest };
}

/** Registry and repository of an image name without tag or digest. */
export function splitName(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const registry = first === 'index.docker.io' ? DOCKER_HUB : first;
    const repository = name.slice(slash + 1);
    return {
      registry,
      repository: registry === DOCKER_HUB && !repository.includes('/') ? `library/${repository}` : repository,
    };
  }
  return { registry: DOCKER_HUB, repository: slash < 0 ? `library/${name}` : name };
}

/** The host the registry API answers on. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** Plain HTTP for loopback registries, as Docker treats them as insecure by default; HTTPS elsewhere. */
export function defaultScheme(registry: string): 'http' | 'https' {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' ? 'http' : 'https';
}

/** `registry/repository` then `:tag` or `@digest`, as users write it. */
export function formatReference(ref: {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}): string {
  const repository =
    ref.registry === DOCKER_HUB && ref.repository.startsWith('library/') ? ref.repository.slice(8) : ref.repository;
  const name = ref.registry === DOCKER_HUB ? repository : `${ref.registry}/${repository}`;
  return `${name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
