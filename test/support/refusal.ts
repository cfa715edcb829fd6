/** The error an SDK call was refused with (its HTTP status in `$metadata`); throws when it was not refused. */
export async function refusal(
  p: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('the call was not refused');
}
