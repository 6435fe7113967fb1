/**
 * `tenant-mail/local`: the local twin as a library, for a platform's own integration tests. `startTwin()` runs the
 * whole stack on emulators on 127.0.0.1 and hands back the publisher and admin client pointed at it, a mailbox of
 * what SES and the tenant relay received, and `stop()`. `npm start` is a thin CLI over the same function.
 */
export type { LocalEndpointsFile, ScopeEndpoints } from './twin/endpoints-file';
export {
  createMailbox,
  type Mailbox,
  type MailboxMessage,
  type MailboxQuery,
  type MailboxSources,
  type MailboxWaitOptions,
} from './twin/mailbox';
export {
  type StartTwinOptions,
  startTwin,
  type Twin,
  type TwinRelay,
  type TwinScope,
} from './twin/start-twin';
