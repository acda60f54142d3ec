/**
 * A client of the CRI streaming server's port forwarding (the URL CRI's PortForward answers),
 * over WebSocket with the `v4.channel.k8s.io` protocol the kubelet's streaming library serves:
 * every binary message starts with its channel byte (per port: data 2n, error 2n+1), and the
 * first two bytes the server sends on each channel are the port, little endian.
 */
import WebSocket from "ws";

export interface ForwardResult {
  /** Everything the pod's port sent back before the connection closed. */
  data: Buffer;
  /** What the server reported on the error channel (empty: none). */
  error: string;
}

/** Sends `request` through the forwarded port and collects the answer until the server closes. */
export function portForwardExchange(
  url: string,
  request: Buffer,
  timeoutMs = 15_000,
): Promise<ForwardResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["v4.channel.k8s.io"]);
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    const headerSeen = [0, 0];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(
        new Error(
          `port-forward ${url}: no close within ${timeoutMs} ms (got ${Buffer.concat(chunks).length} bytes)`,
        ),
      );
    }, timeoutMs);
    ws.on("open", () => ws.send(Buffer.concat([Buffer.from([0]), request])));
    ws.on("message", (raw: Buffer) => {
      const channel = raw[0];
      let payload = raw.subarray(1);
      if (channel !== 0 && channel !== 1) return;
      const skip = Math.min(2 - headerSeen[channel]!, payload.length);
      headerSeen[channel]! += skip;
      payload = payload.subarray(skip);
      (channel === 0 ? chunks : errors).push(payload);
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), error: Buffer.concat(errors).toString() });
    });
  });
}
