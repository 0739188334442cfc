export function PromotionsPage() {
  return <h1>Promotions</h1>;
}
