/**
 * Undrain when VPN traffic returns, on the local cloud, Google coordinating: the scenario of
 * test/support/vpn-run-traffic.ts (a drained VPN carries traffic again, its tunnel counters'
 * 5-minute sample is published, the next minute's check undrains it on both clouds, one run).
 */
import { trafficUndrainScenario } from '../support/vpn-run-traffic.ts';

trafficUndrainScenario('gcp');
