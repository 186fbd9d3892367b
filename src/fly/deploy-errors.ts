// What a failed Machines API call means for the person deploying, and what to do.
import { OperatorError } from '../platform/operator-error.ts';
import { FlyApiError, FlyNoAnswer } from './machines-api.ts';

/** Regions to suggest when one is out of capacity (well spread, usually roomy). */
const OTHER_REGIONS = ['iad', 'ord', 'dfw', 'sjc', 'ams', 'fra', 'lhr', 'nrt', 'syd'];

export function rerun(app: string): string {
  return `Run the same command again: it finds what already exists on ${app} and continues from there.`;
}

function detail(error: FlyApiError): string {
  const id = error.requestId ? `, fly-request-id ${error.requestId}` : '';
  return `${error.message} (HTTP ${error.status}${error.code ? ` ${error.code}` : ''}${id})`;
}

/** The token is missing, wrong or expired. */
export function badToken(error: FlyApiError): OperatorError {
  return new OperatorError(
    `Fly refused FLY_API_TOKEN: ${detail(error)}.`,
    'Create an organization token (`fly tokens create org <org>`, or the dashboard: Tokens → Create Organization token) and set FLY_API_TOKEN to it.',
  );
}

/** GET /apps/NAME answered 403: the name is global and someone else has it (or the token sees only another app). */
export function nameTaken(app: string): OperatorError {
  return new OperatorError(
    `the app name "${app}" is taken by another Fly organization (app names are global across Fly).`,
    `Choose another name: parachute deploy fly --app ${app}-hub (or any free name). If ${app} is yours, your FLY_API_TOKEN cannot see it: use an organization token of the org that owns it.`,
  );
}

/** POST /apps refused: billing, scope, or a name problem. */
export function createAppFailed(app: string, org: string, error: FlyApiError): OperatorError {
  if (error.status === 401 || error.status === 403) {
    return new OperatorError(
      `this FLY_API_TOKEN may not create apps in the organization "${org}": ${detail(error)}.`,
      `A deploy token (\`fly tokens create deploy\`) belongs to one existing app and cannot create apps. Create an organization token: \`fly tokens create org ${org}\` (or the dashboard: Tokens → Create Organization token), set FLY_API_TOKEN to it and run the command again.`,
    );
  }
  if (error.code === 'name_taken') return nameTaken(app);
  if (/billing|payment|credit card/i.test(error.message)) {
    return new OperatorError(
      `Fly will not create apps in the organization "${org}" until billing is set up: ${detail(error)}.`,
      `Add a payment method at https://fly.io/dashboard/${org}/billing, then run the same command again.`,
    );
  }
  if (/organi[sz]ation|org_slug/i.test(error.message) || error.status === 404) {
    return new OperatorError(
      `Fly did not accept the organization "${org}": ${detail(error)}.`,
      'Give the slug of an organization your token belongs to with --org (the dashboard shows it in the URL: fly.io/dashboard/<slug>).',
    );
  }
  return new OperatorError(`Fly refused to create the app ${app}: ${detail(error)}.`, rerun(app));
}

/** A volume or machine create refused: capacity, billing, or else Fly's words. */
export function placementFailed(
  app: string,
  what: 'volume' | 'machine',
  region: string,
  error: FlyApiError,
): OperatorError {
  if (error.code === 'insufficient_capacity' || /capacity/i.test(error.message)) {
    const others = OTHER_REGIONS.filter((r) => r !== region).slice(0, 4);
    const hint =
      what === 'volume'
        ? `Try another region: parachute deploy fly --app ${app} --region ${others[0]} (or ${others.slice(1).join(', ')}).`
        : `The volume pins the machine to ${region}: wait a few minutes and run the same command again, or start over elsewhere: parachute deploy fly --app ${app} --destroy, then --region ${others[0]} (or ${others.slice(1).join(', ')}).`;
    return new OperatorError(
      `Fly has no room for a ${what} in region ${region} right now: ${detail(error)}.`,
      hint,
    );
  }
  if (/billing|payment|credit card/i.test(error.message)) {
    return new OperatorError(
      `Fly will not create the ${what} until billing is set up: ${detail(error)}.`,
      'Add a payment method in the Fly dashboard (Billing), then run the same command again.',
    );
  }
  return stepFailed(app, `create the ${what}`, error);
}

/** Any other failure at a step: Fly's words, and a re-run continues. */
export function stepFailed(app: string, step: string, error: unknown): OperatorError {
  if (error instanceof OperatorError) return error;
  if (error instanceof FlyApiError) {
    if (error.status === 401) return badToken(error);
    if (error.status === 429) {
      return new OperatorError(
        `Fly kept rate-limiting the requests to ${step}: ${detail(error)}.`,
        `Wait a minute. ${rerun(app)}`,
      );
    }
    return new OperatorError(`could not ${step}: ${detail(error)}.`, rerun(app));
  }
  if (error instanceof FlyNoAnswer) {
    return new OperatorError(
      `could not ${step}: ${error.message}.`,
      `Check your connection to ${'api.machines.dev'}. ${rerun(app)}`,
    );
  }
  throw error;
}
