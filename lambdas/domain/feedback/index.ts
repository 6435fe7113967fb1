/** SES feedback rules: parsing, correlation, message timeline, suppression decisions and the reputation guard. */
export * from './feedback-event';
export * from './message-timeline';
export * from './reputation-guard';
export * from './ses-event-schema';
export * from './suppression-rules';
