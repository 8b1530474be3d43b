/**
 * npm run replay:poison -- [--max N] [--dry-run]
 * Moves messages from POISON_QUEUE_NAME back to INGEST_QUEUE_NAME, using the same app settings as the
 * Function (identity-based storage settings in Azure, AzureWebJobsStorage for Azurite). Prints one line
 * per message: action, MSH-10 as a short hash (the same hash the logs use; MSH-10 is sender-controlled
 * and may carry PHI), type and poison reason. Exit status: 0 done, 1 failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { loadStorageConfig } from '../ingest/config';
import { formatLogLine } from '../ingest/logger';
import { replayPoison } from '../ingest/replay';
import { openStorage } from '../ingest/runtime';

export const REPLAY_USAGE = 'usage: npm run replay:poison -- [--max N] [--dry-run]\n  --max N     replay at most N messages\n  --dry-run   list what would be replayed, move nothing\n  --help      this text\n';

export interface ReplayArgs {
  max?: number;
  dryRun: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export function parseReplayArgs(argv: string[]): ReplayArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { max: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${REPLAY_USAGE}`);
  }
  const out: ReplayArgs = { dryRun: values['dry-run'] === true, help: values.help === true };
  if (values.max !== undefined) {
    if (!/^\d+$/.test(values.max) || Number(values.max) < 1) throw new UsageError(`--max needs a positive whole number\n${REPLAY_USAGE}`);
    out.max = Number(values.max);
  }
  return out;
}

/** The log line's hash of a control id, so an operator can match this output with the logs. */
export function controlIdHash(id: string | undefined): string {
  return id === undefined ? '-' : (JSON.parse(formatLogLine('x', { controlId: id })) as { controlId: string }).controlId;
}

async function main(): Promise<number> {
  let args: ReplayArgs;
  try {
    args = parseReplayArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write((err as Error).message);
    return 2;
  }
  if (args.help) {
    process.stdout.write(REPLAY_USAGE);
    return 0;
  }
  const config = loadStorageConfig(process.env);
  const { ingestQueue, poisonQueue } = await openStorage(config);
  const r = await replayPoison({
    poison: poisonQueue,
    ingest: ingestQueue,
    max: args.max,
    dryRun: args.dryRun,
    onMessage: (m) => process.stdout.write(`${m.action}\t${controlIdHash(m.id)}\t${/^[A-Z]{3}\^[A-Z0-9]{3}$/.test(m.type ?? '') ? m.type : '-'}\t${m.reason ?? '-'}\n`),
  });
  process.stdout.write(
    `${args.dryRun ? 'dry run: ' : ''}${r.seen} seen, ${args.dryRun ? r.seen - r.unreadable + ' would be replayed' : r.replayed + ' replayed'}, ${r.unreadable} unreadable (left in ${config.poisonQueueName})\n`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Class only: storage errors can quote request details.
      process.stderr.write(`replay:poison failed: ${err instanceof Error ? err.name : 'error'}\n`);
      process.exit(1);
    },
  );
}
