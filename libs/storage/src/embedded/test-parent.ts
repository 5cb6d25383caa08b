/**
 * A parent of the embedded engine, for the tests that kill it (embedded.integration.test.ts): starts the
 * engine, keeps it busy with a long query, prints `{"pid":…,"child":…}` once the query is sent, and
 * then waits to be signalled.
 *
 *   test-parent <data-dir> stop|exit
 *
 * On SIGTERM, `stop` stops the engine as the CLI's shutdown does (SIGTERM, SIGKILL after a grace);
 * `exit` exits at once without stopping it, as a crashing parent would.
 */
import pg from 'pg';
import { startEmbeddedTimescale } from './embedded.js';

const [dataDir, mode = 'stop'] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write('usage: test-parent <data-dir> stop|exit\n');
  process.exit(2);
}
const engine = await startEmbeddedTimescale({ dataDir, stopGraceMs: 1_500 });
process.on('SIGTERM', () => {
  if (mode === 'exit') process.exit(0);
  engine.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
const client = new pg.Client({ connectionString: engine.url });
client.on('error', () => undefined);
await client.connect();
// Minutes of synchronous WebAssembly in the engine's main thread.
client.query('select count(*) from generate_series(1, 5000000000)').catch(() => undefined);
process.stdout.write(`${JSON.stringify({ pid: process.pid, child: engine.pid })}\n`);
