/** A tier as configured and shown: 86400 → `24h`, 3600 → `1h`, 300 → `5m`, 90 → `90s`, 172800 → `2d`. */
export function formatTier(seconds: number): string {
  if (seconds > 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
