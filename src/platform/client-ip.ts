// The socket's peer address, recorded by the server for each request so
// route code can read it without trusting any header.
const peers = new WeakMap<Request, string>();

/** Records the peer address the server saw for `request`. */
export function rememberClientIp(request: Request, ip: string | undefined): void {
  if (ip) peers.set(request, ip);
}

/** The peer address of `request` ("unknown" for requests built in-process). */
export function clientIpOf(request: Request): string {
  return peers.get(request) ?? 'unknown';
}
