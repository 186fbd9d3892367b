/**
 * Headers on every response the hub itself makes (proxied module responses
 * keep their own). Pages that must not be framed add more.
 */
export const HUB_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};
