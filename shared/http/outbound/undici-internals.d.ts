// Types of the two undici modules `client.ts` imports directly (undici ships types for its index only).
// Both are the very objects the index exports: see the note in client.ts.

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
