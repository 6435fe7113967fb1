import { MessageStatus } from '../lambdas/domain/message/message-status';

/** The longest time range one history query covers unless `all` is set (the platform's own rule). */
export const MAX_HISTORY_DAYS = 3;
/** The most rows of one history page. */
export const MAX_HISTORY_PAGE = 40;

/** "Failed only": every final status in which the email did not reach its recipient. */
export const FAILED_STATUSES: readonly MessageStatus[] = [
  MessageStatus.REJECTED,
  MessageStatus.BOUNCED,
  MessageStatus.COMPLAINED,
  MessageStatus.SUPPRESSED,
  MessageStatus.DEAD_LETTERED,
];
