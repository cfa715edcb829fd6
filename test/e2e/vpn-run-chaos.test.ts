/**
 * The applied VPN run of test/support/vpn-run-apply.ts, AWS coordinating, under chaos: every relay
 * delivery sent twice and each copy held for its own random delay, both ways, and 20% of the
 * providers' calls throttled on both clouds (EC2, Direct Connect, CloudWatch; Compute).
 * The runs end as without faults (both VPNs drained, undrained on the link's weakening, drained again
 * and deleted on both clouds), each action applied once per VPN per half, nothing dead-lettered.
 */
import { appliedVpnRunScenario } from '../support/vpn-run-apply.ts';

appliedVpnRunScenario('aws', { chaos: true });
