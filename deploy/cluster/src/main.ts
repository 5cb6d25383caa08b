/**
 * `npm run cluster -- build | up | down | status | images`: a one-node Kubernetes cluster built and run
 * by the project itself (see README, "Kubernetes").
 */
const usage = 'usage: npm run cluster -- build | up | down | status | images';

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
