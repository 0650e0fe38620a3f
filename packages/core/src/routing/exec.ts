/** An ExecFunction on node:child_process.execFile: an argument array, no shell, a timeout. */
import { execFile } from 'node:child_process';
import type { ExecFunction } from './types';

export const nodeExec: ExecFunction = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        shell: false,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        // The program is looked up on this environment's PATH too (default: this process's).
        ...(options.env ? { env: options.env as NodeJS.ProcessEnv } : {}),
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ exitCode: 0, stdout, stderr });
        const code = (error as { code?: unknown }).code;
        // A missing program or a killed one is not an exit code: say what happened.
        if (typeof code === 'number') return resolve({ exitCode: code, stdout, stderr });
        if (error.killed)
          return resolve({ exitCode: -1, stdout, stderr: `${stderr}\nkilled after ${options.timeoutMs} ms` });
        reject(error);
      },
    );
  });
