export type * from './contract.js';
export { controlPlane } from './control/index.js';
