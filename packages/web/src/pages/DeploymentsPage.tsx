export function DeploymentsPage() {
  return <h1>Deployments</h1>;
}
