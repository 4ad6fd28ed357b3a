/** pipod cli. */
export {};
