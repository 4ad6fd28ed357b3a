/** Every command of the CLI, in help order. Add a module here to add a command. */
import type { CommandModule } from 'yargs';
import { buildCommand } from './build.ts';
import { controllerCommand } from './controller.ts';
import { describeCommand } from './describe.ts';
import { doctorCommand } from './doctor.ts';
import { listCommand } from './list.ts';
import { logsCommand } from './logs.ts';
import { runCommand } from './run.ts';
import { validateCommand } from './validate.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, listCommand, logsCommand, describeCommand, buildCommand, validateCommand, doctorCommand, controllerCommand];
