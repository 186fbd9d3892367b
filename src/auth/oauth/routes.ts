import { Elysia } from 'elysia';
import { appsRoutes } from './apps-routes.ts';
import { authorizeRoutes } from './authorize-routes.ts';
import { consentRoutes } from './consent-routes.ts';
import type { OAuthIssuer } from './issuer.ts';
import { metadataRoutes } from './metadata-routes.ts';
import { registerRoutes } from './register-routes.ts';
import { tokenRoutes } from './token-routes.ts';

/** The OAuth 2.1 issuer (auth.md sections 2-5), one group per endpoint family. */
export function oauthRoutes(oauth: OAuthIssuer) {
  return (
    new Elysia({ name: 'oauth' })
      // /.well-known/oauth-authorization-server, openid-configuration, oauth-protected-resource[/*]
      .use(metadataRoutes(oauth))
      // POST /oauth/register
      .use(registerRoutes(oauth))
      // POST /oauth/token, POST /oauth/revoke
      .use(tokenRoutes(oauth))
      // GET /oauth/authorize
      .use(authorizeRoutes(oauth))
      // GET|POST /api/oauth/requests/:id (the consent page's API)
      .use(consentRoutes(oauth))
      // /api/oauth/grants, /api/oauth/tokens/:id, /api/oauth/clients
      .use(appsRoutes(oauth))
  );
}
