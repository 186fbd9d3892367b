import { describe, expect, test } from 'bun:test';
import type { WebSocket as BunWebSocket, ServerWebSocket } from 'bun';
import { type BridgeData, WS_LATE_BYTES_LIMIT, wsBridge } from './ws-bridge.ts';

// The end-to-end tests (test/proxy.test.ts) show backpressure holding real
// peers back; these drive the handlers with stand-in sockets to reach what
// real peers that honour TCP never do: more arriving after the pause.

const MiB = 1024 * 1024;

/** The module's side: records pauses, sends and its close. */
function fakeModule() {
  const upstream = {
    readyState: WebSocket.OPEN as number,
    isPaused: false,
    bufferedAmount: 0,
    sent: 0,
    closedWith: undefined as { code?: number; reason?: string } | undefined,
    onmessage: null as ((event: { data: unknown }) => void) | null,
    pause: () => {
      upstream.isPaused = true;
      return true;
    },
    resume: () => {
      upstream.isPaused = false;
      return true;
    },
    send: () => {
      upstream.sent += 1;
    },
    close: (code?: number, reason?: string) => {
      upstream.closedWith = { code, reason };
      upstream.readyState = WebSocket.CLOSED;
    },
    /** A message from the module, as Bun's client WebSocket delivers it. */
    deliver: (bytes: number) => upstream.onmessage?.({ data: new ArrayBuffer(bytes) }),
  };
  return upstream;
}

/** The client's side; `send` answers with `sendStatus`, and close runs the bridge's close handler as Bun does. */
function fakeClient(upstream: ReturnType<typeof fakeModule>, before: Partial<BridgeData> = {}) {
  const client = {
    data: {
      upstream: upstream as unknown as BunWebSocket,
      early: [],
      lateFromModule: 0,
      lateFromClient: 0,
      ...before,
    } as BridgeData,
    sent: [] as unknown[],
    readyState: WebSocket.OPEN as number,
    isPaused: false,
    queued: 0,
    sendStatus: 1,
    closedWith: undefined as { code: number; reason: string } | undefined,
    send: (message: unknown) => {
      client.sent.push(message);
      return client.sendStatus;
    },
    getBufferedAmount: () => client.queued,
    pause: () => {
      client.isPaused = true;
    },
    resume: () => {
      client.isPaused = false;
    },
    close: (code: number, reason: string) => {
      if (client.readyState !== WebSocket.OPEN) return;
      client.readyState = WebSocket.CLOSED;
      client.closedWith = { code, reason };
      wsBridge.close?.(asServerSocket(client), code, reason);
    },
  };
  wsBridge.open?.(asServerSocket(client));
  return client;
}

function asServerSocket(client: object) {
  return client as unknown as ServerWebSocket<BridgeData>;
}

function bridge() {
  const module = fakeModule();
  return { module, client: fakeClient(module) };
}

describe('WebSocket bridge backpressure', () => {
  test('a client with a queue pauses the module until the queue is empty', () => {
    const { module, client } = bridge();
    client.sendStatus = -1;
    client.queued = MiB;
    module.deliver(MiB);
    expect(module.isPaused).toBe(true);
    client.queued = 1;
    wsBridge.drain?.(asServerSocket(client));
    expect(module.isPaused).toBe(true);
    client.queued = 0;
    wsBridge.drain?.(asServerSocket(client));
    expect(module.isPaused).toBe(false);
  });

  test('what the module sent before the client’s side opened is passed on, then the module resumes', () => {
    const module = fakeModule();
    module.pause();
    const client = fakeClient(module, { early: ['one', 'two'] });
    expect(client.sent).toEqual(['one', 'two']);
    expect(module.isPaused).toBe(false);
  });

  test('over the limit arriving before the client’s side opened closes both sides with 1008', () => {
    const module = fakeModule();
    module.pause();
    const client = fakeClient(module, {
      early: ['one'],
      lateFromModule: WS_LATE_BYTES_LIMIT + 1,
    });
    expect(client.closedWith?.code).toBe(1008);
    expect(module.closedWith?.code).toBe(1008);
  });

  test('module messages still arriving after the pause close both sides with 1008 past the limit', () => {
    const { module, client } = bridge();
    client.sendStatus = -1;
    module.deliver(MiB);
    for (let sent = 0; sent < WS_LATE_BYTES_LIMIT; sent += MiB) module.deliver(MiB);
    expect(client.closedWith).toBeUndefined();
    module.deliver(1);
    expect(client.closedWith?.code).toBe(1008);
    expect(client.closedWith?.reason).toBe('over 4 MiB queued for the client despite backpressure');
    expect(module.closedWith).toEqual(client.closedWith);
  });

  test('a message Bun drops closes both sides instead of going missing', () => {
    const { module, client } = bridge();
    client.sendStatus = 0;
    module.deliver(0);
    expect(client.closedWith).toBeUndefined();
    module.deliver(10);
    expect(client.closedWith?.code).toBe(1008);
    expect(module.closedWith?.code).toBe(1008);
  });

  test('a module with a queue pauses the client until the module has read it', async () => {
    const { module, client } = bridge();
    module.bufferedAmount = MiB;
    wsBridge.message?.(asServerSocket(client), Buffer.alloc(MiB));
    expect(client.isPaused).toBe(true);
    module.bufferedAmount = 0;
    const deadline = Date.now() + 2000;
    while (client.isPaused && Date.now() < deadline) await Bun.sleep(5);
    expect(client.isPaused).toBe(false);
    expect(module.sent).toBe(1);
  });

  test('client messages still arriving after the pause close both sides with 1008 past the limit', () => {
    const { module, client } = bridge();
    module.bufferedAmount = MiB;
    const message = Buffer.alloc(MiB);
    wsBridge.message?.(asServerSocket(client), message);
    for (let sent = 0; sent < WS_LATE_BYTES_LIMIT; sent += MiB)
      wsBridge.message?.(asServerSocket(client), message);
    expect(client.closedWith).toBeUndefined();
    wsBridge.message?.(asServerSocket(client), Buffer.alloc(1));
    expect(client.closedWith?.code).toBe(1008);
    expect(client.closedWith?.reason).toBe('over 4 MiB queued for the module despite backpressure');
    expect(module.closedWith).toEqual(client.closedWith);
    expect(module.sent).toBe(1 + WS_LATE_BYTES_LIMIT / MiB);
  });
});
