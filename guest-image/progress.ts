/** Step-by-step build progress on stderr: "[3/9] kernel modules … 1.2 s". */
export class Progress {
  private index = 0;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Runs one named step, printing its start, and its duration or failure. */
  async step<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.index += 1;
    const label = `[${this.index}/${this.total}] ${title}`;
    this.out.write(`${label} …\n`);
    const t0 = performance.now();
    try {
      const value = await fn();
      this.out.write(`${label} done in ${seconds(performance.now() - t0)}\n`);
      return value;
    } catch (error) {
      this.out.write(`${label} FAILED after ${seconds(performance.now() - t0)}\n`);
      throw error;
    }
  }

  note(message: string): void {
    this.out.write(`      ${message}\n`);
  }

  finish(message: string): void {
    this.out.write(`${message} (${seconds(performance.now() - this.started)} total)\n`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
