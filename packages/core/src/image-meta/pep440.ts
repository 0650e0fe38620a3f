/** PEP 440 versions (Python packaging): validity, the normalised form, and the release numbers. */

const PEP440 =
  /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

export interface Pep440Version {
  epoch: number;
  release: number[];
  pre: [string, number] | undefined;
  post: number | undefined;
  dev: number | undefined;
  local: string | undefined;
}

export function parsePep440(text: string): Pep440Version | undefined {
  const match = PEP440.exec(text);
  if (!match) return undefined;
  const preLabel = match[3]?.toLowerCase();
  const pre: [string, number] | undefined = preLabel
    ? [
        preLabel === 'alpha'
          ? 'a'
          : preLabel === 'beta'
            ? 'b'
            : ['c', 'pre', 'preview'].includes(preLabel)
              ? 'rc'
              : preLabel,
        Number(match[4] ?? 0),
      ]
    : undefined;
  const post = match[5] !== undefined ? Number(match[5]) : match[6] !== undefined ? Number(match[7] ?? 0) : undefined;
  return {
    epoch: Number(match[1] ?? 0),
    release: match[2]!.split('.').map(Number),
    pre,
    post,
    dev: match[8] !== undefined ? Number(match[9] ?? 0) : undefined,
    local: match[10]?.toLowerCase().replace(/[-_]/g, '.'),
  };
}

/** The normalised form PEP 440 prescribes, e.g. `v1.1beta2` → `1.1b2`, `1.2post1` → `1.2.post1`. */
export function normalizePep440(version: Pep440Version): string {
  return [
    version.epoch ? `${version.epoch}!` : '',
    version.release.join('.'),
    version.pre ? `${version.pre[0]}${version.pre[1]}` : '',
    version.post !== undefined ? `.post${version.post}` : '',
    version.dev !== undefined ? `.dev${version.dev}` : '',
    version.local ? `+${version.local}` : '',
  ].join('');
}
