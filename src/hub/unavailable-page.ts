import type { Mount } from '../modules/mounts.ts';
import type { ModuleState } from '../supervisor/states.ts';
import { type HubPageSpec, hubPage, type PageAction } from './hub-page.ts';

/** Who is looking at a module that cannot answer: where the hub is, and whether they may start it. */
export interface PageViewer {
  /** The hub's origin: on a module's own origin, links to the admin UI must be absolute. */
  hubOrigin: string;
  /** A signed-in admin of this hub (their session on this origin). */
  admin: boolean;
  /** The module's display name (module.json `displayName`), for the heading. */
  label?: string | null;
}

/** Why a module has no answer: its supervisor state, or what went wrong on the connection. */
export type Unavailability = ModuleState | 'unreachable' | 'misbehaving';

/**
 * The browser's page for a module that is down (502) or starting (503):
 * what happened in plain words and, for a signed-in admin, the way to the
 * admin UI's Modules page, where it is started (no GET here changes anything).
 */
export function unavailablePage(
  mount: Mount,
  state: Unavailability,
  viewer: PageViewer | null,
  headers: Record<string, string>,
): Response {
  const name = mount.name;
  const label = viewer?.label || name;
  const retrying = state === 'starting' || state === 'backoff';
  const admin = viewer?.admin === true;
  const origin = viewer?.hubOrigin ?? '';
  const modulesPage = `/admin/modules#module-${encodeURIComponent(name)}`;
  const manage: PageAction[] = admin
    ? [
        { label: 'Open in Modules', href: `${origin}${modulesPage}`, primary: !retrying },
        { label: 'View its logs', href: `${origin}/admin/logs/${encodeURIComponent(name)}` },
      ]
    : [];
  // A visitor who runs the hub signs in and lands on the module's card.
  const signIn: PageAction[] =
    viewer && !admin && !retrying
      ? [
          {
            label: 'Admin sign-in',
            href: `${origin}/login?next=${encodeURIComponent(modulesPage)}`,
          },
        ]
      : [];
  // An empty href is this very address: the visitor's own path and query, loaded again.
  const retry: PageAction = { label: 'Try again', href: '', primary: retrying || !admin };
  const spec: HubPageSpec = {
    status: retrying ? 503 : 502,
    home: origin ? `${origin}/` : '/',
    headers,
    ...words(name, label, state, admin),
    actions: retrying ? [retry, ...manage] : [...manage, retry, ...signIn],
  };
  if (retrying) spec.refreshSeconds = 3;
  return hubPage(spec);
}

/** The eyebrow, paragraphs and command for each reason. */
function words(
  name: string,
  label: string,
  state: Unavailability,
  admin: boolean,
): Pick<HubPageSpec, 'eyebrow' | 'tone' | 'paragraphs' | 'command' | 'title'> {
  const logs = `parachute logs ${name}`;
  switch (state) {
    case 'starting':
      return {
        title: `${label} is starting`,
        eyebrow: '503 · Starting',
        tone: 'warning',
        paragraphs: [
          `${label} is starting up. This page reloads by itself every few seconds until it answers.`,
        ],
      };
    case 'backoff':
      return {
        eyebrow: '503 · Restarting',
        tone: 'warning',
        title: `${label} is restarting`,
        paragraphs: [
          `${label} stopped unexpectedly and the hub is starting it again. This page reloads by itself every few seconds.`,
        ],
      };
    case 'unreachable':
      return {
        eyebrow: '502 · No answer',
        tone: 'error',
        title: `${label} did not answer`,
        paragraphs: [
          `The hub could not connect to ${label}, or it closed the connection or went silent before answering. Its logs say why; on the hub's machine:`,
        ],
        command: logs,
      };
    case 'misbehaving':
      return {
        eyebrow: '502 · Invalid answer',
        tone: 'error',
        title: `${label} sent an invalid answer`,
        paragraphs: [
          `Its answer was not valid HTTP/1.1; the hub's log says how. Its own logs, on the hub's machine:`,
        ],
        command: logs,
      };
    default: {
      const crashed = state === 'crashed' || state === 'unbound';
      const who = label === name ? name : `${label} (${name})`;
      return {
        title: `${label} is ${state}`,
        eyebrow: crashed ? '502 · Module down' : '502 · Module stopped',
        tone: crashed ? 'error' : 'neutral',
        paragraphs: [
          crashed
            ? `${who} is installed but not running: it is ${state}, so nothing answers at this address.`
            : `${who} is installed but not running, so nothing answers at this address.`,
          admin
            ? 'Start it from the Modules page of the admin UI, or on the hub’s machine:'
            : 'Ask the person who runs this hub to start it. If that is you, sign in to start it from the admin UI, or run on the hub’s machine:',
        ],
        command: `parachute start ${name}\n${logs}`,
      };
    }
  }
}
