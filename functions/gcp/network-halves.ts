/**
 * Halves in several projects, the Google twin of functions/aws/network-halves.ts: crosslink runs in
 * a hub project and a link's transport may live in a network project, the request's `gcp.project`,
 * reached with the service account configured for it (`CROSSLINK_NETWORK_PROJECTS`, impersonated).
 * Creating and accepting go to the request's project; a project neither the hub nor configured is
 * refused (the intake refuses it first; a peer's request that reaches a step is refused here, never
 * created in the hub instead). A transport's name carries its project, so get / delete / disable go
 * to that project alone (404 there = gone). A bare id names no project: it is looked up in every
 * project and is gone only when every project says 404; a project that cannot answer makes the
 * answer unknown (its error propagates), never "gone". Lists span every project.
 */
import { ValidationError } from '#core/errors.ts';
import type { AcceptHalfInput, InitiateHalfInput, OwnHalfView, OwnHalves } from '#core/link/ports.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import type { TransportHalves } from './halves.ts';

const PROJECT_OF = /^projects\/([^/]+)\/locations\/[^/]+\/transports\/[^/]+$/;

export class ProjectRoutedHalves implements OwnHalves {
  readonly #hub: string;
  readonly #projects: Map<string, TransportHalves>;

  /** `projects`: each project's halves by id, the hub's (`hub`) among them. */
  constructor(hub: string, projects: Map<string, TransportHalves>) {
    if (!projects.has(hub)) throw new RangeError(`the hub project ${hub} has no halves`);
    this.#hub = hub;
    this.#projects = projects;
  }

  /** The halves of the request's project; any other project is refused, naming the field. */
  #forRequest(request: LinkRequest): TransportHalves {
    const halves = this.#projects.get(request.gcp.project);
    if (halves) return halves;
    throw new ValidationError(
      [
        {
          path: 'gcp.project',
          reason: `${request.gcp.project} is neither the hub project nor a configured network project (${[...this.#projects.keys()].join(', ')})`,
        },
      ],
      'request',
    );
  }

  /** The project a full transport name names, or undefined for a bare id. */
  #forName(connectionId: string): TransportHalves | undefined {
    const project = PROJECT_OF.exec(connectionId)?.[1];
    if (project === undefined) return undefined;
    const halves = this.#projects.get(project);
    if (!halves)
      throw new ValidationError(
        [{ path: 'connectionId', reason: `${connectionId} is in ${project}, not a configured project` }],
        'transport',
      );
    return halves;
  }

  /** Profiles are the region's offering, the same from any project: the hub answers. */
  capacity(request: LinkRequest) {
    return (this.#projects.get(this.#hub) as TransportHalves).capacity(request);
  }

  async initiate(input: InitiateHalfInput): Promise<{ half: OwnHalfView; keyRef: string }> {
    return this.#forRequest(input.request).initiate(input);
  }

  async accept(input: AcceptHalfInput): Promise<OwnHalfView> {
    return this.#forRequest(input.request).accept(input);
  }

  /** The transport from its project; a bare id from whichever project holds it (null: 404 in all). */
  async getHalf(connectionId: string): Promise<OwnHalfView | null> {
    const named = this.#forName(connectionId);
    if (named) return named.getHalf(connectionId);
    for (const halves of this.#projects.values()) {
      const h = await halves.getHalf(connectionId);
      if (h) return h;
    }
    return null;
  }

  async findHalves(linkId: string, location?: string): Promise<OwnHalfView[]> {
    return (
      await Promise.all([...this.#projects.values()].map((h) => h.findHalves(linkId, location)))
    ).flat();
  }

  /** Deletes it in the project that holds it; gone everywhere counts as deleted. */
  async deleteHalf(connectionId: string, attempt = 1): Promise<{ alreadyGone: boolean }> {
    const named = this.#forName(connectionId);
    if (named) return named.deleteHalf(connectionId, attempt);
    for (const halves of this.#projects.values())
      if (await halves.getHalf(connectionId)) return halves.deleteHalf(connectionId, attempt);
    return { alreadyGone: true };
  }

  /** The drain, in the project that holds the transport; null when it is gone everywhere. */
  async disableHalf(connectionId: string, attempt = 1): Promise<OwnHalfView | null> {
    const named = this.#forName(connectionId);
    if (named) return named.disableHalf(connectionId, attempt);
    for (const halves of this.#projects.values())
      if (await halves.getHalf(connectionId)) return halves.disableHalf(connectionId, attempt);
    return null;
  }
}
