export type * from './contract.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
