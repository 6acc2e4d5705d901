/** Starts the example on PORT (default 3001) with one account: demo@example.org / a printed password. */
import { randomBytes } from 'node:crypto';
import { Accounts, createExampleApp } from './app.js';

const accounts = new Accounts();
const password = randomBytes(12).toString('base64url');
accounts.add('demo@example.org', password);
const { app } = createExampleApp(accounts, { redis: process.env.REDIS_URL, env: process.env });
const port = Number(process.env.PORT ?? 3001);
app.listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}  demo@example.org / ${password}`));
