const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The audit `details` of an update: only the fields that really changed, each as { before, after }. */
export function changedFields<T extends Record<string, unknown>>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): Record<string, { before: unknown; after: unknown }> {
  const details: Record<string, { before: unknown; after: unknown }> = {};
  for (const field of fields) {
    if (!same(before[field], after[field])) details[field] = { before: before[field] ?? null, after: after[field] ?? null };
  }
  return details;
}
