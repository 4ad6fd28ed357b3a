/** pipod controller. */
export {};
