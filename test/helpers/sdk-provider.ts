// The MCP SDK's OAuthClientProvider as a test drives it: state in memory,
// and the "browser" a function that takes the authorize URL to wherever the
// hub sends it back. The SDK itself decides discovery, registration or CIMD,
// scopes and resource; nothing here steers it.
import { expect } from 'bun:test';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

/** What one trip through the browser brought back: at least the callback's query. */
export interface Round {
  params: URLSearchParams;
}

export interface ProviderOptions {
  /** redirect_uris to register (default: the redirect URL itself). */
  registeredRedirects?: string[];
  /** A client ID metadata document URL: the SDK uses it when the hub supports CIMD. */
  clientMetadataUrl?: string;
  clientName?: string;
  /** The issuer the callback's `iss` must name (RFC 9207), when checked. */
  issuer?: string;
}

export class BrowserProvider<R extends Round> implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  lastState = '';
  /** Each authorization round trip: the URL the SDK built and what came back. */
  rounds: (R & { authorizeUrl: URL })[] = [];
  readonly clientMetadataUrl?: string;

  constructor(
    readonly redirect: string,
    private readonly browse: (authorizeUrl: URL) => Promise<R>,
    private readonly options: ProviderOptions = {},
  ) {
    this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get redirectUrl() {
    return this.redirect;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName ?? 'MCP SDK test client',
      redirect_uris: this.options.registeredRedirects ?? [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.lastState = crypto.randomUUID();
    return this.lastState;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(authorizeUrl: URL) {
    this.rounds.push({ authorizeUrl, ...(await this.browse(authorizeUrl)) });
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }

  /** The code from the last callback, after checking its state (and iss, RFC 9207). */
  code(): string {
    const params = this.rounds.at(-1)?.params;
    if (!params) throw new Error('no authorization happened');
    if (params.get('error')) {
      throw new Error(
        `the callback carried ${params.get('error')}: ${params.get('error_description')}`,
      );
    }
    expect(params.get('state')).toBe(this.lastState);
    if (this.options.issuer) expect(params.get('iss')).toBe(this.options.issuer);
    const code = params.get('code');
    if (!code) throw new Error(`the callback carried no code: ${params}`);
    return code;
  }
}
