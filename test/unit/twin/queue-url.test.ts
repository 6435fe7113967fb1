import { addressableQueueUrl } from '../../../local/twin/provision';

describe('addressableQueueUrl', () => {
  const live = 'http://127.0.0.1:41234';

  it('turns fauxqs’s unparseable queue URL into one the SDK accepts, for the same queue', () => {
    const fauxqs = 'http://sqs.us-east-1.127.0.0.1:41234/000000000000/tenant-mail-dev-send-bulk';
    expect(() => new URL(fauxqs)).toThrow('Invalid URL');
    const url = addressableQueueUrl(fauxqs, live);
    expect(url).toBe('http://127.0.0.1:41234/000000000000/tenant-mail-dev-send-bulk');
    expect(new URL(url).origin).toBe(live);
  });

  it('points a URL kept from an earlier run (another port) at the fauxqs serving now', () => {
    const kept = 'http://sqs.us-east-1.127.0.0.1:39473/000000000000/tenant-mail-dev-events';
    expect(addressableQueueUrl(kept, live)).toBe(`${live}/000000000000/tenant-mail-dev-events`);
  });

  it('refuses what is not a queue URL', () => {
    expect(() => addressableQueueUrl('tenant-mail-dev-events', live)).toThrow('not a queue URL');
    expect(() => addressableQueueUrl('http://127.0.0.1:41234', live)).toThrow('not a queue URL');
  });
});
