export type * from './contract.js';
export { controlPlane } from './control/index.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
