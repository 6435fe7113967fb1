import type { Command } from 'commander';
import { readText } from '../files';
import type { Runner } from '../runner';
import { published } from '../views/notifications';

export function register(program: Command, runner: Runner): void {
  program
    .command('event')
    .description('events to the scope’s events queue')
    .command('publish')
    .description('validate an event (or composed email) JSON file and publish it to the events queue')
    .argument('<file>', 'the CloudEvent or composed email (JSON)')
    .action(
      runner.action(async ({ admin, scope, local }, _o, [file]) => {
        const result = await admin.events.publish(readText(String(file)));
        return { data: result, text: () => published(result, scope, local?.viewer) };
      }),
    );
}
