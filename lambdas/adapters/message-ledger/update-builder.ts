/**
 * Builds one DynamoDB UpdateItem's expressions. Every attribute name goes through a placeholder (`#status`,
 * `#method`… are reserved words), and every value through one, so callers never concatenate expression text.
 */
export class UpdateBuilder {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly adds: string[] = [];
  private readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  set(attribute: string, value: unknown): this {
    if (value !== undefined) this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** Sets the attribute only if it has no value yet. */
  setIfAbsent(attribute: string, value: unknown): this {
    const name = this.name(attribute);
    this.sets.push(`${name} = if_not_exists(${name}, ${this.value(value)})`);
    return this;
  }

  /** Appends entries to a list attribute, creating it when absent. */
  append(attribute: string, entries: readonly unknown[]): this {
    const name = this.name(attribute);
    this.sets.push(
      `${name} = list_append(if_not_exists(${name}, ${this.value([])}), ${this.value(entries)})`,
    );
    return this;
  }

  remove(...attributes: string[]): this {
    for (const attribute of attributes) this.removes.push(this.name(attribute));
    return this;
  }

  add(attribute: string, amount: number): this {
    this.adds.push(`${this.name(attribute)} ${this.value(amount)}`);
    return this;
  }

  /** A condition clause; clauses are joined with AND. Use `name()` and `value()` inside `build`. */
  when(build: (b: this) => string): this {
    this.conditions.push(`(${build(this)})`);
    return this;
  }

  /** `attribute IN (...)` for a non-empty list of values. */
  in(attribute: string, values: readonly unknown[]): string {
    return `${this.name(attribute)} IN (${values.map((v) => this.value(v)).join(', ')})`;
  }

  build(): {
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const parts = [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
      this.adds.length ? `ADD ${this.adds.join(', ')}` : '',
    ].filter(Boolean);
    return {
      UpdateExpression: parts.join(' '),
      ...(this.conditions.length ? { ConditionExpression: this.conditions.join(' AND ') } : {}),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
