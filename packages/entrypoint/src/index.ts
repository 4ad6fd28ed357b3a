/** pipod entrypoint. */
export {};
