/**
 * An applied VPN run end to end on the local cloud, Google coordinating: the scenario of
 * test/support/vpn-run-apply.ts with both halves packaged under a policy whose `vpn.coordinator` is
 * gcp, so Cloud Scheduler's job starts the runs (every 30 minutes in the test's copy of gcp.yml),
 * Google's `vpn-run-events` undrains on the link's weakening, and the runs' records are Firestore's.
 */
import { appliedVpnRunScenario } from '../support/vpn-run-apply.ts';

appliedVpnRunScenario('gcp');
