/**
 * Items as plain JavaScript values over the DynamoDB client's own commands (GetItem, PutItem,
 * Query, DeleteItem), converted by util-dynamodb's `marshall` / `unmarshall` with the caller's
 * options: what lib-dynamodb's document client does for these four commands, in the form the link
 * store and the relay's ledger call it (`doc.send(new GetCommand({...}))`). The keys, items,
 * expression values and start keys sent are marshalled; the items, old attributes and last
 * evaluated keys read are unmarshalled; every other field goes as given.
 *
 * Why not lib-dynamodb: its command classes and their translation tables are about 5 KB of each
 * Lambda bundle that holds the store, a bundle whose budget is 250 KB (docs/aws-half.md,
 * "Packaging"), for the conversion util-dynamodb does.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand as QueryItemsCommand,
  type QueryCommandInput as QueryItemsInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, type marshallOptions, unmarshall } from '@aws-sdk/util-dynamodb';

type Item = Record<string, unknown>;
type Values = { ExpressionAttributeValues?: Item };
type Native<T, K extends keyof T> = Omit<T, K | 'ExpressionAttributeValues'> & { [P in K]: Item } & Values;

export type GetCommandInput = Omit<GetItemCommandInput, 'Key'> & { Key: Item };
export type PutCommandInput = Native<PutItemCommandInput, 'Item'>;
export type DeleteCommandInput = Native<DeleteItemCommandInput, 'Key'>;
export type QueryCommandInput = Omit<QueryItemsInput, 'ExclusiveStartKey' | 'ExpressionAttributeValues'> &
  Values & { ExclusiveStartKey?: Item };

/** A command's input, told apart by its class as lib-dynamodb's commands are. */
class DocumentCommand<I> {
  readonly input: I;
  constructor(input: I) {
    this.input = input;
  }
}
export class GetCommand extends DocumentCommand<GetCommandInput> {}
export class PutCommand extends DocumentCommand<PutCommandInput> {}
export class DeleteCommand extends DocumentCommand<DeleteCommandInput> {}
export class QueryCommand extends DocumentCommand<QueryCommandInput> {}

type Wire = Record<string, AttributeValue>;

export class DynamoDBDocument {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #options: marshallOptions | undefined;

  constructor(client: Pick<DynamoDBClient, 'send'>, options?: marshallOptions) {
    this.#client = client;
    this.#options = options;
  }

  #to(value: Item): Wire;
  #to(value: Item | undefined): Wire | undefined;
  #to(value: Item | undefined): Wire | undefined {
    return value === undefined ? undefined : marshall(value, this.#options);
  }

  #from(value: Wire | undefined): Item | undefined {
    return value === undefined ? undefined : unmarshall(value);
  }

  /** The input with the expression values marshalled (and left out when absent). */
  #values<T extends Values>(input: T) {
    const { ExpressionAttributeValues: values, ...rest } = input;
    return values === undefined ? rest : { ...rest, ExpressionAttributeValues: this.#to(values) };
  }

  send(command: GetCommand): Promise<{ Item?: Item }>;
  send(command: PutCommand): Promise<{ Attributes?: Item }>;
  send(command: DeleteCommand): Promise<{ Attributes?: Item }>;
  send(command: QueryCommand): Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>;
  async send(command: GetCommand | PutCommand | DeleteCommand | QueryCommand): Promise<unknown> {
    if (command instanceof GetCommand) {
      const out = await this.#client.send(
        new GetItemCommand({ ...command.input, Key: this.#to(command.input.Key) }),
      );
      return { ...out, Item: this.#from(out.Item) };
    }
    if (command instanceof PutCommand) {
      const input = this.#values(command.input);
      const out = await this.#client.send(
        new PutItemCommand({ ...input, Item: this.#to(command.input.Item) }),
      );
      return { ...out, Attributes: this.#from(out.Attributes) };
    }
    if (command instanceof DeleteCommand) {
      const input = this.#values(command.input);
      const out = await this.#client.send(
        new DeleteItemCommand({ ...input, Key: this.#to(command.input.Key) }),
      );
      return { ...out, Attributes: this.#from(out.Attributes) };
    }
    const { ExclusiveStartKey: start, ...input } = this.#values(command.input);
    const out = await this.#client.send(
      new QueryItemsCommand({ ...input, ...(start ? { ExclusiveStartKey: this.#to(start) } : {}) }),
    );
    return {
      ...out,
      Items: out.Items?.map((i) => unmarshall(i)),
      LastEvaluatedKey: this.#from(out.LastEvaluatedKey),
    };
  }
}
