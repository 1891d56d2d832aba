export { readPasswordFromStdin, USERS_HELP, usersCommand } from './commands/users.ts';
export { CliError, EMBEDDED_REDIS_PORT, EMBEDDED_REDIS_URL, openContext } from './context.ts';
export { DEMO_USERS, seedDemoUsers } from './demo.ts';
