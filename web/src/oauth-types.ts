/** The hub's OAuth answers that the consent and connected-apps pages read (auth.md §4). */

export type ClientStatus = 'pending' | 'approved' | 'denied';

/** GET /api/oauth/requests/:id: one authorization waiting for the signed-in user's answer. */
export interface AuthorizationRequest {
  id: string;
  client: {
    client_id: string;
    client_name: string | null;
    client_uri: string | null;
    redirect_uri: string;
    redirect_host: string;
    status: ClientStatus;
    /** Host of the app's metadata document, when its client_id is that document's URL. */
    metadata_host: string | null;
    /** Neither an admin nor this user has approved the app before. */
    first_time: boolean;
  };
  scopes: { scope: string; description: string; module: string | null }[];
  /** Asked for but not grantable here, with why: shown so nothing is hidden. */
  not_granted: { scope: string; reason: string }[];
  /** Set when the app asked for the broad `vault:<verb>`: the user picks the vaults. */
  vault_choice: { verbs: string[]; vaults: string[] } | null;
  user: { username: string };
}

/** One refresh-token family of a grant: a device or session of the app. */
export interface GrantToken {
  id: string;
  scopes: string[];
  created_at: number;
  last_used_at: number | null;
  expires_at: number;
}

/** GET /api/oauth/grants: what a user allowed an app to do. Times are Unix ms. */
export interface Grant {
  id: string;
  client_id: string;
  client_name: string | null;
  user_id: string;
  username: string;
  scopes: string[];
  created_at: number;
  updated_at: number;
  tokens: GrantToken[];
}

/** GET /api/oauth/clients (admin): an app registered through RFC 7591. */
export interface OAuthClient {
  client_id: string;
  client_name: string | null;
  client_uri: string | null;
  redirect_uris: string[];
  status: ClientStatus;
  created_at: number;
  grant_count: number;
}

/** An app's own name is optional (RFC 7591 §2): say so rather than show nothing. */
export function appName(name: string | null | undefined): string {
  return name?.trim() ? name : 'An unnamed app';
}
