/** Databases: restores for rollback (pg_restore, a Job from a restore CronJob, or a command). */
export * from './restore';
