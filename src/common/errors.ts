/** Base class for every error ve-manager raises on purpose: it carries a hint a person can act on. */
export class VemError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line: printed as one line, exit code 2. */
export class UsageError extends VemError {}

/** A prerequisite (binary, package, file) is missing on this machine. */
export class MissingPrerequisiteError extends VemError {
  constructor(readonly what: string, hint?: string) {
    super(`missing prerequisite: ${what}`, hint);
  }
}
