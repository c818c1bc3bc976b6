/**
 * The kube-controller-manager component: two replicas with one leader
 * elected through the Lease kube-system/kube-controller-manager, running the
 * controllers of src/controllers. See src/controllers/behaviour.ts.
 */
export {
  controllerManager, spawnControllerManagers, CONTROLLER_MANAGER_LEASE, CONTROLLER_MANAGER_REPLICAS, CONTROLLER_MANAGER_USER,
  type ControllerManagerArgs, type ControllerManagerMsg, type ControllerManagerStatus, type ControllerManagerTiming,
} from '../src/controllers/behaviour.js';
