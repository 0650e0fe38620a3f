/** Databases: migrations (built-in SQL for PostgreSQL, a command, a Kubernetes Job), backups, restores, lint. */
export * from './backup';
export * from './files';
export * from './job-runner';
export * from './lint';
export * from './migrate';
export * from './request';
export * from './restore';
export * from './summary';
