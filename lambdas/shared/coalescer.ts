/**
 * Gathers calls that arrive close together into one batch per group, so that the records of one SQS batch (which
 * the batch processor works on concurrently) cost one request instead of one each. The first call of a group
 * opens a window of `windowMs`; when it closes, `run` gets every request of the window and answers each of them
 * in order. A failure of `run` fails every call of that window.
 */
export class Coalescer<Request, Answer> {
  private readonly open = new Map<
    string,
    Array<{ request: Request; resolve: (answer: Answer) => void; reject: (error: unknown) => void }>
  >();

  constructor(
    private readonly run: (group: string, requests: readonly Request[]) => Promise<readonly Answer[]>,
    private readonly windowMs: number,
  ) {}

  add(group: string, request: Request): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const waiting = this.open.get(group);
      if (waiting) {
        waiting.push({ request, resolve, reject });
        return;
      }
      this.open.set(group, [{ request, resolve, reject }]);
      const flush = () => {
        const batch = this.open.get(group) ?? [];
        this.open.delete(group);
        this.run(
          group,
          batch.map((item) => item.request),
        ).then(
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
        );
      };
      if (this.windowMs > 0) setTimeout(flush, this.windowMs);
      else queueMicrotask(flush);
    });
  }
}
