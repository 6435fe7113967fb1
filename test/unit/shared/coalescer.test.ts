import { Coalescer } from '../../../lambdas/shared/coalescer';

describe('Coalescer', () => {
  it('in serial mode runs one batch of a group at a time, gathering the calls made meanwhile into the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const coalescer = new Coalescer<number, string>(
      async (_, requests) => {
        batches.push([...requests]);
        if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return requests.map((request) => `done ${request}`);
      },
      0,
      { serial: true },
    );
    const first = coalescer.add('key', 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The first batch is still running: these wait and go together.
    const later = [coalescer.add('key', 2), coalescer.add('key', 3)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(batches).toEqual([[1]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual(['done 1', 'done 2', 'done 3']);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('without serial mode starts a new window while a batch runs', async () => {
    const batches: number[][] = [];
    const coalescer = new Coalescer<number, number>(async (_, requests) => {
      batches.push([...requests]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return requests;
    }, 0);
    const first = coalescer.add('key', 1);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = coalescer.add('key', 2);
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(batches).toEqual([[1], [2]]);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });
});
