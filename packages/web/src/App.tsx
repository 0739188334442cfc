import { Link, Route, Switch } from 'wouter';
import { useAt, withAt } from './at';
import { CatalogPage } from './pages/CatalogPage';
import { ModelPage } from './pages/ModelPage';
import { VersionPage } from './pages/VersionPage';
import { AuditPage } from './pages/AuditPage';
import { PromotionsPage } from './pages/PromotionsPage';
import { DeploymentsPage } from './pages/DeploymentsPage';
import { SettingsPage } from './pages/SettingsPage';
import { TimeSlider } from './components/time/TimeSlider';
import { AuthControl } from './components/auth/SignIn';

/** The shell: navigation, then the page the URL names (DESIGN §7). */
export function App() {
  const at = useAt();
  return (
    <div className="shell">
      <header className="top">
        <nav aria-label="Main">
          <Link href={withAt('/', at)} className="brand">
            Berth
          </Link>
          <Link href={withAt('/audit', at)}>Audit</Link>
          <Link href={withAt('/promotions', at)}>Promotions</Link>
          <Link href={withAt('/deployments', at)}>Deployments</Link>
          <Link href={withAt('/settings', at)}>Settings</Link>
        </nav>
        <TimeSlider />
        <AuthControl />
      </header>
      <main>
        <Switch>
          <Route path="/" component={CatalogPage} />
          <Route path="/models/:name" component={ModelPage} />
          <Route path="/models/:name/versions/:version" component={VersionPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/promotions" component={PromotionsPage} />
          <Route path="/deployments" component={DeploymentsPage} />
          <Route path="/settings" component={SettingsPage} />
          <Route>
            <h1>Not found</h1>
            <p>
              No page here. <Link href="/">Back to the catalog</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </div>
  );
}
