/**
 * npm run replay:poison -- [--max N] [--dry-run]
 * Moves messages from POISON_QUEUE_NAME back to INGEST_QUEUE_NAME, using the same app settings as the
 * Function (identity-based storage settings in Azure, AzureWebJobsStorage for Azurite). Prints one line
 * per message with its MSH-10, type and poison reason only.
 */
import { loadStorageConfig } from '../ingest/config';
import { replayPoison } from '../ingest/replay';
import { openStorage } from '../ingest/runtime';

export interface ReplayArgs {
  max?: number;
  dryRun: boolean;
}

export function parseReplayArgs(argv: string[]): ReplayArgs {
  const out: ReplayArgs = { dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') out.dryRun = true;
    else if (a === '--max' || a.startsWith('--max=')) {
      const v = a.includes('=') ? a.slice(6) : argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--max needs a positive whole number, got '${v ?? ''}'`);
      out.max = Number(v);
    } else if (a === '--help' || a === '-h') {
      throw new Error('usage: npm run replay:poison -- [--max N] [--dry-run]');
    } else {
      throw new Error(`unknown argument '${a}'; usage: npm run replay:poison -- [--max N] [--dry-run]`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseReplayArgs(process.argv.slice(2));
  const config = loadStorageConfig(process.env);
  const { ingestQueue, poisonQueue } = await openStorage(config);
  const r = await replayPoison({
    poison: poisonQueue,
    ingest: ingestQueue,
    max: args.max,
    dryRun: args.dryRun,
    onMessage: (m) => process.stdout.write(`${m.action}\t${m.id ?? '-'}\t${m.type ?? '-'}\t${m.reason ?? '-'}\n`),
  });
  process.stdout.write(
    `${args.dryRun ? 'dry run: ' : ''}${r.seen} seen, ${args.dryRun ? r.seen - r.unreadable + ' would be replayed' : r.replayed + ' replayed'}, ${r.unreadable} unreadable (left in ${config.poisonQueueName})\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`replay:poison failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
