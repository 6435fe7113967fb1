import { addressableQueueUrl } from '../../../local/twin/provision';

describe('addressableQueueUrl', () => {
  it('turns fauxqs’s unparseable queue URL into one the SDK accepts, for the same queue', () => {
    const fauxqs = 'http://sqs.us-east-1.127.0.0.1:39473/000000000000/tenant-mail-dev-send-bulk';
    expect(() => new URL(fauxqs)).toThrow('Invalid URL');
    const url = addressableQueueUrl(fauxqs);
    expect(url).toBe('http://127.0.0.1:39473/000000000000/tenant-mail-dev-send-bulk');
    expect(new URL(url).origin).toBe('http://127.0.0.1:39473');
  });

  it('leaves other URLs alone', () => {
    const aws = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tenant-mail-prod-send';
    expect(addressableQueueUrl(aws)).toBe(aws);
  });
});
