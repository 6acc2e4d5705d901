/**
 * The admin CLI from the sources, for development (`npx tsx scripts/admin.ts <command>`;
 * the tests run it this way). Installed packages and the image run the compiled
 * `sliding-sessions admin <command>` (src/bin.ts); `npm run admin` builds and runs that.
 */
import { runAdminProcess } from '../src/cli/process.js';

await runAdminProcess(process.argv.slice(2));
