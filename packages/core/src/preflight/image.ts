/** image: the image to deploy exists in its registry (a manifest HEAD through the registry client build-tag uses). */
import { holdVirtualTime } from '../clock/quiescence';
import { formatReference, type ImageReference, parseImageReference } from '../registry/reference';
import { configError, optionalString, requiredString } from './config';
import type { GateDefinition } from './types';

interface ImageConfig {
  image: ImageReference;
  text: string;
  credentials: { username: string; password: string } | undefined;
}

export const imageGate: GateDefinition<ImageConfig> = {
  name: 'image',
  title: 'Image in the registry',
  prepare(raw, source) {
    const text = requiredString(raw, 'image', source, 'ghcr.io/acme/web:v1.2.0');
    let image: ImageReference;
    try {
      image = parseImageReference(text, 'image');
    } catch (error) {
      throw configError(source, 'image', (error as Error).message);
    }
    const username = optionalString(raw, 'username', source);
    const password = optionalString(raw, 'password', source);
    return {
      image,
      text,
      credentials: username !== undefined && password !== undefined ? { username, password } : undefined,
    };
  },
  async run(config, ctx) {
    const { RegistryClient } = await holdVirtualTime(import('../registry/client'));
    if (config.credentials) ctx.mask(config.credentials.password);
    const client = new RegistryClient({
      credentials: (registry) => (registry === config.image.registry ? config.credentials : undefined),
      signal: ctx.signal,
      clock: ctx.clock,
    });
    const head = await client.manifestExists(config.image);
    const shown = formatReference(config.image);
    if (head === undefined) {
      return {
        status: 'fail',
        value: 'missing',
        limit: 'exists',
        message: `${shown} is not in the registry (manifest HEAD answered 404)`,
      };
    }
    return {
      status: 'pass',
      value: head.digest.slice(0, 19),
      limit: 'exists',
      message: `${shown} exists: ${head.digest} (${head.mediaType})`,
      details: head,
    };
  },
};
