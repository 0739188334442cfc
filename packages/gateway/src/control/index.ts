import type { ControlFactory } from '../contract.js';
import { createControlPlane } from './control-plane.js';

/** The gateway's control plane: what `startGateway` runs unless analysis is turned off (`berth gateway --no-analysis`). */
export const controlPlane: ControlFactory = (opts) => createControlPlane(opts);
