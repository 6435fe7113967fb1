interface Waiting<Request, Answer> {
  request: Request;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
}

interface Window<Request, Answer> {
  readonly items: Array<Waiting<Request, Answer>>;
  /** The window's time is up; in serial mode it still waits for the group's running batch. */
  due: boolean;
}

/**
 * Gathers calls that arrive close together into one batch per group, so that the records of one SQS batch (which
 * the batch processor works on concurrently) cost one request instead of one each. The first call of a group
 * opens a window of `windowMs`; when it closes, `run` gets every request of the window and answers each of them
 * in order. A failure of `run` fails every call of that window.
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
    private readonly windowMs: number,
    private readonly options: { readonly serial?: boolean } = {},
  ) {}

  add(group: string, request: Request): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const waiting = this.open.get(group);
      if (waiting) {
        waiting.items.push({ request, resolve, reject });
        return;
      }
      const window: Window<Request, Answer> = { items: [{ request, resolve, reject }], due: false };
      this.open.set(group, window);
      const close = () => {
        window.due = true;
        this.flush(group);
      };
      if (this.windowMs > 0) setTimeout(close, this.windowMs);
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
