/** Base class of every error pipod reports to a user: a stable code and a message, never a stack trace. */
export class PipodError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'PipodError';
  }
}
