/** What every subcommand provides to the dispatcher. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text, with an example. */
  help: string;
  run(argv: string[]): Promise<number>;
}
