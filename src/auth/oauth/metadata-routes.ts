import { Elysia } from 'elysia';
import { metadataJson, preflight } from './http.ts';
import type { OAuthIssuer } from './issuer.ts';

const PRM = '/.well-known/oauth-protected-resource';

/**
 * Discovery documents (auth.md section 2): authorization server metadata
 * (RFC 8414, also at the OpenID path) and protected-resource metadata
 * (RFC 9728) for the hub and, path-inserted, for every module mount.
 */
export function metadataRoutes(oauth: OAuthIssuer) {
  const serverMetadata = () => {
    const issuer = oauth.issuer;
    return metadataJson({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      registration_endpoint: `${issuer}/oauth/register`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      scopes_supported: oauth.catalog().supported,
      authorization_response_iss_parameter_supported: true,
      // MCP clients (Claude Code, claude.ai, VS Code) identify themselves by URL when this is set.
      client_id_metadata_document_supported: true,
    });
  };
  const resourceMetadata = (path: string) => {
    const issuer = oauth.issuer;
    const catalog = oauth.catalog();
    const base = {
      authorization_servers: [issuer],
      bearer_methods_supported: ['header'],
      jwks_uri: `${issuer}/.well-known/jwks.json`,
    };
    if (path === '' || path === '/') {
      return metadataJson({
        resource: issuer,
        resource_name: 'Parachute hub',
        scopes_supported: catalog.supported,
        ...base,
      });
    }
    const info = catalog.resourceForPath(path);
    if (!info) return null;
    // RFC 9728 section 3.3: `resource` is the URL this document was asked for.
    return metadataJson({
      resource: `${issuer}${path.replace(/\/+$/, '')}`,
      resource_name: info.module,
      scopes_supported: catalog.offered(info.scopes),
      ...base,
    });
  };
  return new Elysia({ name: 'oauth.metadata' })
    .get('/.well-known/oauth-authorization-server', serverMetadata)
    .get('/.well-known/openid-configuration', serverMetadata)
    .get(PRM, () => resourceMetadata(''))
    .get(`${PRM}/*`, ({ params, status }) => {
      const path = `/${params['*']}`;
      return (
        resourceMetadata(path) ??
        status(404, {
          error: 'not_found',
          error_description: `No installed module is mounted at ${path}.`,
        })
      );
    })
    .options('/.well-known/*', preflight);
}
