// npm runs `prepare` after `npm install` / `npm ci` in a checkout, and when another project installs this
// repository from a git URL: it installs the dev dependencies in a clone, runs `prepare` there (not `prepack`) and
// packs the clone. Only that second case needs dist/, and only there did npm start in another directory.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

const here = realpathSync(process.cwd());
if (realpathSync(process.env.INIT_CWD ?? here) !== here) {
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
}
