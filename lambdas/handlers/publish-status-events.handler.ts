import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeStatusBus } from '../adapters/eventbridge-status-bus';
import { loadStatusEventsConfig } from '../shared/status-events-config';
import { createPublishStatusEventsHandler } from './publish-status-events';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadStatusEventsConfig();

export const handler = createPublishStatusEventsHandler({
  scope: config.scope,
  bus: new EventBridgeStatusBus(new EventBridgeClient({}), { eventBusName: config.eventBusName }),
});
