/** Types of header-drift.cjs (shared by the jest client in test/helpers/contract.ts and the Dredd hooks). */
declare const headerDrift: {
  DRIFT_HEADERS: readonly string[];
  KNOWN_UNDECLARED_HEADERS_PATH: string;
  loadKnownUndeclaredHeaders(path?: string): Set<string>;
  undeclaredHeaders(
    r: { operationId: string; status: number | string; declared: string[]; received: string[] },
    known?: Set<string>,
  ): { failures: string[]; known: string[] };
};
export = headerDrift;
