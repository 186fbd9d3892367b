import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium, headless, with nothing reaching outside this machine.
 * `extraArgs` adds flags, such as `--host-resolver-rules` for test host names.
 */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** Records console errors and uncaught exceptions (CSP violations show up as console errors). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/**
 * The errors that matter: Chromium logs every 4xx/5xx answer to a fetch as
 * "Failed to load resource", and tests provoke those on purpose (a 401 before
 * signing in, a stopped module's 502). Anything else, CSP violations above all, counts.
 */
export function unexpectedErrors(errors: string[]): string[] {
  return errors.filter(
    (text) =>
      !/^Failed to load resource: the server responded with a status of \d\d\d\b/.test(text),
  );
}

/** A full-page screenshot for a person to look at, only when SCREENSHOT_DIR is set. */
export async function shot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/${name}.png`, fullPage: true });
  }
}

/** Opens the hub's sign-in page and submits it, as a person would. */
export async function submitSignIn(
  page: Page,
  hubUrl: string,
  username: string,
  password: string,
): Promise<void> {
  await page.goto(`${hubUrl}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * A browser with a context signed in to the hub at `url` as `username`
 * (the Overview shown once): what most admin UI tests start from.
 */
export async function signedInBrowser(
  url: string,
  username: string,
  password: string,
): Promise<{ browser: Browser; signedIn: BrowserContext }> {
  const browser = await launchBrowser();
  const signedIn = await browser.newContext();
  const page = await signedIn.newPage();
  await submitSignIn(page, url, username, password);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.close();
  return { browser, signedIn };
}
