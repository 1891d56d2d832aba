export { type ImportIo, type ImportSummary, importCommand } from './commands/import.ts';
export { EMBEDDED_REDIS_TUNING } from './commands/up.ts';
export { readPasswordFromStdin, USERS_HELP, usersCommand } from './commands/users.ts';
export { type CliContext, CliError, EMBEDDED_REDIS_PORT, embeddedRedisPort, embeddedRedisUrl, openContext } from './context.ts';
export { DEMO_USERS, seedDemoUsers } from './demo.ts';
