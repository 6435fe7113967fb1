import {
  InvalidEventPatternError,
  matchesPattern,
  validatePattern,
} from '../../../local/eventbridge/event-pattern';
import documented from '../../fixtures/eventbridge-patterns/documented-examples.json';

type Case = { name: string; doc: string; pattern: Record<string, unknown>; event: string; matches: boolean };
const events = documented.events as Record<string, unknown>;

describe('EventBridge event patterns (the twin bus), against the EventBridge User Guide examples', () => {
  it.each((documented.cases as Case[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(c.doc).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/eventbridge\//);
    validatePattern(c.pattern);
    expect(matchesPattern(c.pattern, events[c.event])).toBe(c.matches);
  });

  it.each(documented.invalid.map((c) => [c.name, c.pattern] as const))(
    'refuses a malformed pattern: %s',
    (_name, pattern) => {
      expect(() => validatePattern(pattern)).toThrow(InvalidEventPatternError);
    },
  );
});
