/**
 * Undrain when VPN traffic returns, on the local cloud, AWS coordinating: the scenario of
 * test/support/vpn-run-traffic.ts (a drained VPN carries traffic again, CloudWatch publishes its
 * 5-minute sample, the next minute's check undrains it on both clouds, one run).
 */
import { trafficUndrainScenario } from '../support/vpn-run-traffic.ts';

trafficUndrainScenario('aws');
