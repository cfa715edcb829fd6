/**
 * An applied VPN run end to end on the local cloud, AWS coordinating: the scenario of
 * test/support/vpn-run-apply.ts (drain after the soak, undrain on `sim link down` with the loss
 * measured, drain again and delete after the cooling-off, the prod delete only once approved on each
 * side, the saving reported).
 */
import { appliedVpnRunScenario } from '../support/vpn-run-apply.ts';

appliedVpnRunScenario('aws');
