interface Waiting<Request, Answer> {
  request: Request;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
}

interface Window<Request, Answer> {
  readonly items: Array<Waiting<Request, Answer>>;
  /** The window's time is up; in serial mode it still waits for the group's running batch. */
  due: boolean;
  /** When the window closes (performance.now()), and the timer that closes it. */
  closesAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Gathers calls that arrive close together into one batch per group, so that the records of one SQS batch (which
 * the batch processor works on concurrently) cost one request instead of one each. The first call of a group
 * opens a window of `windowMs`; when it closes, `run` gets every request of the window and answers each of them
 * in order. A failure of `run` fails every call of that window.
 *
 * `windowMs` may depend on the request: a window closes at the earliest moment any of its requests asks for
 * (mail that must not wait shortens the window that patient mail opened).
 *
 * With `serial`, a group runs one batch at a time: calls that arrive while its batch runs gather into the next
 * one, which starts when the running one ends (and its own window is up). A batch then always starts from what
 * the previous one learnt (e.g. a shared counter's new value), and a busy group batches more.
 */
export class Coalescer<Request, Answer> {
  private readonly open = new Map<string, Window<Request, Answer>>();
  private readonly running = new Set<string>();

  constructor(
    private readonly run: (group: string, requests: readonly Request[]) => Promise<readonly Answer[]>,
    private readonly windowMs: number | ((request: Request) => number),
    private readonly options: { readonly serial?: boolean } = {},
  ) {}

  add(group: string, request: Request): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const windowMs = typeof this.windowMs === 'number' ? this.windowMs : this.windowMs(request);
      const closesAt = performance.now() + windowMs;
      const open = this.open.get(group);
      const window = open ?? { items: [], due: false, closesAt: Number.POSITIVE_INFINITY };
      window.items.push({ request, resolve, reject });
      this.open.set(group, window);
      if (window.due || closesAt >= window.closesAt) return;
      window.closesAt = closesAt;
      clearTimeout(window.timer);
      const close = () => {
        window.due = true;
        this.flush(group);
      };
      if (windowMs > 0) window.timer = setTimeout(close, windowMs);
      else queueMicrotask(close);
    });
  }

  private flush(group: string): void {
    const window = this.open.get(group);
    if (!window?.due || (this.options.serial && this.running.has(group))) return;
    this.open.delete(group);
    this.running.add(group);
    const batch = window.items;
    this.run(
      group,
      batch.map((item) => item.request),
    )
      .then(
        (answers) => {
          for (const [index, item] of batch.entries()) {
            const answer = answers[index];
            if (answer === undefined)
              item.reject(new Error(`coalesced batch gave no answer for item ${index}`));
            else item.resolve(answer);
          }
        },
        (error: unknown) => {
          for (const item of batch) item.reject(error);
        },
      )
      .finally(() => {
        this.running.delete(group);
        this.flush(group);
      });
  }
}
