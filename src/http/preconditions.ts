import { createHash } from 'node:crypto';
import { ProblemError } from './problem.js';

/**
 * A row's version as a strong ETag: `"7"`; with `digest`, `"7.3f9a0c"`: for a representation that also shows what
 * the row's version does not cover (a task's subtasks, a project's counts), so that the tag changes whenever the
 * body does.
 */
export const etagOf = (version: number, digest?: string): string => (digest ? `"${version}.${digest}"` : `"${version}"`);

/**
 * The digest part of an ETag (see etagOf): 16 hex digits of a SHA-1 of `parts` as JSON, for what a representation
 * shows beyond its row's version — a task's embedded subtasks, a project's counts.
 */
export const digestOf = (parts: unknown): string => createHash('sha1').update(JSON.stringify(parts)).digest('hex').slice(0, 16);

/** The version one of our entity tags names (`"7"` and `"7.<digest>"` both name 7); undefined for any other tag. */
const versionOfTag = (tag: string): number | undefined => {
  const match = /^"(0|[1-9]\d{0,14})(?:\.[0-9a-f]{1,32})?"$/.exec(tag);
  return match ? Number(match[1]) : undefined;
};

/** The entity tags an If-Match header lists (repeated headers joined), `*` included. */
const ifMatchTags = (ifMatch: string | string[]): string[] =>
  (Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch).split(',').map((t) => t.trim()).filter(Boolean);

/**
 * The versions an If-Match header accepts, for a statement that checks the precondition itself: 'any' without
 * the header or with `*`; otherwise the versions of the strong ETags it names (a tag that is not one of ours
 * matches no version). A write is conditional on the row it changes: a task's tag matches while the task's own
 * version does, whatever its subtasks did since. The same comparison as assertIfMatch, which then words the 412.
 */
export function ifMatchVersions(ifMatch: string | string[] | undefined): 'any' | number[] {
  if (ifMatch === undefined) return 'any';
  const tags = ifMatchTags(ifMatch);
  if (tags.includes('*')) return 'any';
  return tags.flatMap((t) => versionOfTag(t) ?? []);
}

/**
 * Checks an If-Match header against the current version (RFC 9110 §13.1.1: strong comparison, `*` matches
 * any current representation). No header means the client opted out of the check.
 */
export function assertIfMatch(ifMatch: string | string[] | undefined, currentVersion: number): void {
  if (ifMatch === undefined) return;
  const tags = ifMatchTags(ifMatch);
  if (tags.some((t) => t === '*' || versionOfTag(t) === currentVersion)) return;
  const value = Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch;
  throw new ProblemError('precondition-failed', {
    detail: `If-Match ${value} does not match the current ETag ${etagOf(currentVersion)}; read the resource again and retry`,
  });
}

/**
 * Whether an If-None-Match header names the current ETag (RFC 9110 §13.1.2: weak comparison, `*` matches
 * any current representation), so a GET answers 304 Not Modified. No header: false.
 */
export function isNotModified(ifNoneMatch: string | string[] | undefined, currentEtag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const value = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch;
  return value
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === currentEtag);
}

/** The reply of a conditional GET: 304 with the current ETag when the client's copy is current, else undefined. */
export const notModifiedReply = (ifNoneMatch: string | string[] | undefined, currentEtag: string) =>
  isNotModified(ifNoneMatch, currentEtag) ? { status: 304 as const, body: undefined, headers: { ETag: currentEtag } } : undefined;
