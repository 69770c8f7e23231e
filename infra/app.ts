/**
 * CDK app entry (`cdk.json` → `npx tsx infra/app.ts`). Synthesizes offline: with no `account`/`region` in context
 * the stack is environment-agnostic and needs no AWS credentials.
 */
import { checkNodeSupport } from '../local/node-support.ts';
import { createWebhooksApp } from './webhooks-app.ts';

checkNodeSupport();
createWebhooksApp();
