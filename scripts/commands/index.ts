/** Every CLI command; a noun's module contributes its verbs. */
import type { Command } from '../cli/command.ts';
import { completionCommands } from './completion.ts';
import { doctorCommands } from './doctor.ts';
import { drCommands } from './dr.ts';
import { drControlCommands } from './dr-control.ts';
import { drillCommand } from './dr-drill.ts';
import { linkCommands } from './link.ts';
import { relayCommands } from './relay.ts';
import { simCommands } from './sim.ts';
import { simAwsCommands } from './sim-aws.ts';
import { simLinkCommands } from './sim-link.ts';
import { simWorkflowCommands } from './sim-workflow.ts';
import { simWorldCommands } from './sim-world.ts';
import { vpnCommands } from './vpn.ts';
import { vpnRunCommands } from './vpn-runs.ts';

export const commands: Command[] = [
  ...linkCommands,
  ...relayCommands,
  ...vpnCommands,
  ...vpnRunCommands,
  ...drCommands,
  ...drControlCommands,
  drillCommand,
  ...doctorCommands,
  ...simCommands,
  ...simLinkCommands,
  ...simWorldCommands,
  ...simWorkflowCommands,
  ...simAwsCommands,
  ...completionCommands(() => commands),
];
