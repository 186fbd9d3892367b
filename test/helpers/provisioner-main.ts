// Runs `parachute provisioner …` from source for tests: src/cli.ts also
// loads the hub's generated SPA files, which only a build makes.
import { provisioner } from '../../src/commands/provisioner.ts';

// argv: [bun, this file, 'provisioner', …], as the binary's would be.
process.exit(await provisioner.run(process.argv.slice(3)));
