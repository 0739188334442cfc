import { useAt } from '../at';
import { topRole, whyNot } from '../components/auth/roles';
import { useWhoami } from '../components/auth/use-whoami';
import { AtBanner } from '../components/time/AtBanner';
import { PoliciesSection } from '../components/settings/PoliciesSection';
import { TokensSection } from '../components/settings/TokensSection';
import { WebhooksSection } from '../components/settings/WebhooksSection';

/** Tokens, webhooks with their delivery log and replay, and policies with their YAML (DESIGN §5: admin work). */
export function SettingsPage() {
  const at = useAt();
  const who = useWhoami();
  const me = who.status === 'ok' ? who.me : null;
  const blocked = me ? whyNot(me, 'admin', 'Changing tokens and webhooks') : null;
  const canChange = !at && me !== null && blocked === null;
  return (
    <>
      <h1>Settings</h1>
      {at ? <AtBanner at={at} note="Tokens, webhooks and policies are shown as they stood then; nothing can be changed from here." /> : null}
      {me && blocked && !at ? (
        <p className="note">
          You are signed in as {me.name} ({topRole(me)}): {blocked}
        </p>
      ) : null}
      <section aria-labelledby="tokens-heading">
        <h2 id="tokens-heading">Tokens</h2>
        <TokensSection at={at} canChange={canChange} />
      </section>
      <section aria-labelledby="webhooks-heading">
        <h2 id="webhooks-heading">Webhooks</h2>
        <WebhooksSection at={at} canChange={canChange} />
      </section>
      <section aria-labelledby="policies-heading">
        <h2 id="policies-heading">Policies</h2>
        <PoliciesSection at={at} />
      </section>
    </>
  );
}
