/** Environment variables for later steps, written to the runner's GITHUB_ENV file (heredoc form, so values may span lines). */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';

export async function appendEnvFile(path: string | undefined, entries: [string, string][]): Promise<void> {
  if (!path) return;
  let text = '';
  for (const [name, value] of entries) {
    const delimiter = `ghadelimiter_${randomUUID()}`;
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  await appendFile(path, text);
}
