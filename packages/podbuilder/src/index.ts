/** pipod podbuilder. */
export {};
