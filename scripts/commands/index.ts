/** Every CLI command; a noun's module contributes its verbs. */
import type { Command } from '../cli/command.ts';
import { linkCommands } from './link.ts';
import { simCommands } from './sim.ts';

export const commands: Command[] = [...linkCommands, ...simCommands];
