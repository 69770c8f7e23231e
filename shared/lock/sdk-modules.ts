import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

/** The parts of the AWS SDK the position lock uses, imported by name so that a bundle keeps only these. */
export const LOCK_SDK = { DynamoDBClient, PutItemCommand, DeleteItemCommand };
