export * from './errors';
export * from './message-ledger';
export * from './message-record';
export * from './message-status';
export * from './send-lanes';
export * from './status-events';
export * from './sweep-stuck';
export * from './transitions';
