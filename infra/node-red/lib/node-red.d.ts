/**
 * The part of Node-RED's runtime API these nodes use (node-red ships no
 * types of its own; @types/node-red is not a dependency), for `// @ts-check`.
 */
export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface Node {
  id: string;
  type: string;
  name?: string;
  credentials: Record<string, string | undefined>;
  on(event: 'input', listener: (msg: NodeMessage, send: (msg: NodeMessage | (NodeMessage | null)[]) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  status(status: NodeStatus): void;
  error(message: string | Error, msg?: NodeMessage): void;
  warn(message: string): void;
  log(message: string): void;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType<T extends Node>(type: string, constructor: (this: T, def: NodeDef) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
  };
  util: {
    evaluateNodeProperty(value: unknown, type: string, node: Node, msg: NodeMessage): unknown;
  };
}
