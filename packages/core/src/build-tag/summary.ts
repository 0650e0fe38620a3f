/** build-tag's job summary: the version and why, the tags per image (or service), the promotion, the git tag, the labels. */
import { details, table } from '../report';
import type { BuildTagResult } from './run';

export function renderBuildTagSummary(result: BuildTagResult, dryRun: boolean): string {
  const { meta, next, promote, gitTag } = result;
  const lines: string[] = [`## Build tag${dryRun ? ' (dry run: nothing pushed)' : ''}`, ''];
  const rows: [string, string][] = [
    ['image version', meta.version.main ? `\`${meta.version.main}\`` : '(none: no rule matched this run)'],
  ];
  if (next) {
    rows.push(
      ['next version', `\`${next.version}\``],
      ['previous version', next.previous ? `\`${next.previous}\` (${next.previousTag})` : '(none)'],
      ['bump', `${next.bump}: ${next.reason}`],
    );
  }
  rows.push([
    'event',
    `${result.context.eventName} on \`${result.context.ref}\` at \`${result.context.sha.slice(0, 12)}\``,
  ]);
  lines.push(table(['', ''], rows), '');

  if (result.services.length > 0) {
    lines.push(
      '### Tags per service',
      '',
      table(
        ['service', 'image', 'context', 'tags'],
        result.services.map((build) => [
          build.service.name,
          build.service.image,
          build.service.context,
          build.tags.join('<br>'),
        ]),
      ),
      '',
    );
  } else if (meta.tags.length > 0) {
    const byImage = new Map<string, string[]>();
    for (const tag of meta.tags) {
      const at = tag.lastIndexOf(':');
      const image = meta.images.length > 0 ? tag.slice(0, at) : '(tags only)';
      byImage.set(image, [...(byImage.get(image) ?? []), meta.images.length > 0 ? tag.slice(at + 1) : tag]);
    }
    lines.push(
      '### Tags',
      '',
      table(
        ['image', 'tags'],
        [...byImage].map(([image, tags]) => [image, tags.map((tag) => `\`${tag}\``).join(' ')]),
      ),
      '',
    );
  }
  if (promote) {
    lines.push(
      `### Promoted \`${promote.source}\``,
      '',
      `Digest \`${promote.digest}\` (${promote.platforms.length > 0 ? promote.platforms.join(', ') : 'one platform'}); ${promote.mounted} blobs mounted, ${promote.copiedBlobs} copied (${promote.copiedBytes} bytes), ${promote.manifestsWritten} manifests written.`,
      '',
      table(
        ['tag', 'result'],
        promote.targets.map((target) => [
          target.image,
          target.state === 'overwritten'
            ? `overwritten (was ${target.previous})`
            : dryRun && target.state !== 'unchanged'
              ? `${target.state} (planned)`
              : target.state,
        ]),
      ),
      '',
    );
  }
  if (gitTag) lines.push(`Git tag \`${gitTag.tag}\` on \`${gitTag.sha.slice(0, 12)}\`: ${gitTag.state}.`, '');
  for (const warning of result.warnings) lines.push(`> [!WARNING]\n> ${warning}`, '');
  lines.push(
    details(
      'Labels',
      `\n${table(
        ['label', 'value'],
        meta.labels.map((label) => [label.slice(0, label.indexOf('=')), label.slice(label.indexOf('=') + 1)]),
      )}`,
    ),
  );
  return `${lines.join('\n')}\n`;
}
