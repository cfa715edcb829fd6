/** The intake's error answers live in the core (both clouds answer the same): re-exported for AWS. */
export { errorToHttp, type HttpAnswer, type HttpErrorBody } from '#core/link/http-errors.ts';
