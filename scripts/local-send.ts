import { join } from 'node:path';
import { sendExample } from '../local/demo/send-example';

/** Seeds a demo tenant in the running local stack (`npm start`) and queues one composed email. */
sendExample(join(__dirname, '..', '.local', 'endpoints.json'))
  .then((sent) => console.log(`queued one email on ${sent.queueUrl}\nsee it at ${sent.viewer}`))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
