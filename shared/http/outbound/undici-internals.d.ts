// Types of the undici modules imported directly rather than through its index (undici ships types for its index
// only): the agent and connector by `client.ts`, `request` by the bench's floors (bench/floor.ts). Each is the very
// object the index exports: tests/integration/performance-invariants.test.ts checks it.

declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const UndiciAgent: typeof Agent;
  export default UndiciAgent;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module 'undici/lib/core/connect.js' {
  import type { buildConnector } from 'undici';

  const build: typeof buildConnector;
  export default build;
}
