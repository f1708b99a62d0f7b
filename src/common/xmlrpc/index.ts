/** The shared XML-RPC core: values, codec, method registry, server and client. */
export * from './value.js';
export * from './codec.js';
export * from './registry.js';
export * from './server.js';
export * from './client.js';
export * from './cli.js';
export { tokensEqual, tokenFromHeader, isLoopbackHost, parseListen } from './auth.js';
