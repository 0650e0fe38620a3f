/**
 * One object that may not be there: GET or undefined, GET or a UserError that says how to create it,
 * DELETE that takes an object already gone as done.
 */
import { UserError } from '../errors';
import type { KubeClient } from './client';
import { isNotFound } from './errors';
import type { KnownKind, ResourceType } from './resources';
import type { KubeObject } from './types';

/** GET, or undefined on 404. */
export async function getOptional<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(kind, { namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** GET, or a UserError saying what is missing and how to make it. */
export async function getRequired<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
  what: string,
  howToCreate: string,
): Promise<T> {
  const object = await getOptional<T>(client, kind, namespace, name);
  if (object === undefined)
    throw new UserError(`${what} '${name}' not found in namespace '${namespace}'.`, { hint: howToCreate });
  return object;
}

/** Delete, ignoring an object that is already gone. */
export async function deleteIfPresent(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
  dryRun = false,
): Promise<boolean> {
  try {
    await client.delete(kind, { namespace, name }, { dryRun });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
