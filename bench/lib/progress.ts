/**
 * Progress on stderr: a redrawn bar on a terminal, one line per step
 * otherwise (so CI logs stay readable). Never on stdout, which carries the
 * table or the JSON.
 */
export class Progress {
  private done = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly total: number,
    private readonly label: string,
  ) {}

  step(what: string): void {
    this.done = Math.min(this.total, this.done + 1);
    if (this.tty) {
      const width = 24;
      const filled = Math.round((this.done / this.total) * width);
      process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${what}`.padEnd(100));
      if (this.done === this.total) process.stderr.write('\n');
    } else {
      process.stderr.write(`${this.label} ${this.done}/${this.total} ${what}\n`);
    }
  }
}
