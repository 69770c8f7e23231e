import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/** The parts of the AWS SDK the position lock and the day's order count use, imported by name so that a bundle keeps only these. */
export const LOCK_SDK = { DynamoDBClient, PutItemCommand, DeleteItemCommand, UpdateItemCommand };
