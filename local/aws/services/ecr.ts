/**
 * ECR subset (awsJson1_1): `DescribeRepositories`, which `osls remove` calls to find the service's
 * image repository. The local registry holds no repositories (the local cloud runs no container
 * images, and nothing creates one): a named repository is RepositoryNotFoundException, as ECR
 * answers for a repository that does not exist; without names the list is empty.
 */
import { AwsError } from '../errors.ts';
import { defineService } from '../service.ts';

const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterException', message, { status: 400 });
}

export default defineService<Record<string, never>>({
  name: 'ecr',
  signingName: 'ecr',
  protocol: 'json1.1',
  targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
  createState: () => ({}),
  operations: {
    DescribeRepositories(
      input: { registryId?: unknown; repositoryNames?: unknown; maxResults?: unknown; nextToken?: unknown },
      ctx,
    ) {
      if (
        input.registryId !== undefined &&
        !(typeof input.registryId === 'string' && /^\d{12}$/.test(input.registryId))
      )
        throw invalid(
          "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{12}''",
        );
      const names = input.repositoryNames;
      if (names !== undefined) {
        if (!Array.isArray(names) || names.length < 1 || names.length > 100)
          throw invalid(
            "Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length between 1 and 100'",
          );
        for (const n of names)
          if (typeof n !== 'string' || n.length < 2 || n.length > 256 || !REPOSITORY_NAME.test(n))
            throw invalid(
              `Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'must satisfy regular expression '${REPOSITORY_NAME.source}''`,
            );
        if (input.maxResults !== undefined || input.nextToken !== undefined)
          throw invalid('maxResults and nextToken cannot be used with repositoryNames');
      }
      const registry = (input.registryId as string | undefined) ?? ctx.accountId;
      const first = (names as string[] | undefined)?.[0];
      if (first !== undefined)
        throw new AwsError(
          'RepositoryNotFoundException',
          `The repository with name '${first}' does not exist in the registry with id '${registry}'`,
          { status: 400 },
        );
      return { repositories: [] };
    },
  },
});
