/** One `siem` subcommand. `run` gets the arguments after the subcommand name and returns the exit code. */
export interface Command {
  name: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}
