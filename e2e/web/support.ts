import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BerthClient } from '@berth/sdk';
import { ROOT, startBerth, tempDir, type ServerHandle } from '../support.js';

/**
 * Browser tests of the web UI: the real `berth server` serving the built UI (packages/web/dist,
 * built by `npm test`'s web step), driven by playwright-core through Debian's Chromium
 * (`apt-get install chromium`; `.ci/run` installs it). `BERTH_CHROMIUM` names another binary.
 * Without a browser the suites skip, except under BERTH_REQUIRE_ALL=1, where they fail.
 */
const CANDIDATES = [process.env.BERTH_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p);

export const chromiumPath: string | undefined = CANDIDATES.find((p) => existsSync(p));

/** The reason browser tests cannot run here, or undefined when they can. Under BERTH_REQUIRE_ALL=1 a missing browser throws. */
export function browserUnavailable(): string | undefined {
  const why = chromiumPath
    ? existsSync(join(ROOT, 'packages/web/dist/index.html'))
      ? undefined
      : 'the web UI is not built (npm run build)'
    : 'no Chromium found (apt-get install chromium, or set BERTH_CHROMIUM)';
  if (why && process.env.BERTH_REQUIRE_ALL === '1') throw new Error(`BERTH_REQUIRE_ALL=1 needs the browser tests, but ${why}`);
  return why;
}

/** Where the run saves its screenshots (one per page and state a journey visits). */
export const SCREENSHOTS = join(ROOT, 'e2e/web/screenshots');

export interface UiWorld {
  server: ServerHandle;
  url: string;
  /** An SDK client on the server (the admin of a server without auth, or `token`). */
  client: BerthClient;
  browser: Browser;
  /** A fresh page (its own context: storage, cookies) at `path` on the server. */
  open(path: string, opts?: { token?: string }): Promise<Page>;
  /** Saves a full-page screenshot as `<name>.png` under SCREENSHOTS. */
  shot(page: Page, name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server (extra `berth server` flags and env as given) and a headless Chromium. */
export async function startUi(opts: { serverArgs?: string[]; env?: Record<string, string>; token?: string } = {}): Promise<UiWorld> {
  const tmp = await tempDir('berth-web-');
  const server = await startBerth(tmp.dir, opts.serverArgs ?? [], opts.env ?? {});
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  await mkdir(SCREENSHOTS, { recursive: true });
  const client = new BerthClient({ url: server.url, ...(opts.token ? { token: opts.token } : {}) });
  return {
    server,
    url: server.url,
    client,
    browser,
    async open(path, o = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      if (o.token) {
        // Signed in as the UI keeps it: the token in this tab's sessionStorage.
        await context.addInitScript((t) => sessionStorage.setItem('berth.token', t), o.token);
      }
      const page = await context.newPage();
      await page.goto(`${server.url}${path}`);
      return page;
    },
    async shot(page, name) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await server.stop();
      await tmp.cleanup();
    },
  };
}
