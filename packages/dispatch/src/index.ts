/** Bundle entry: dist/<action>/index.js, dist/main/index.js and bin/deploy-actions.js call these. */
export { runCli } from './cli';
export { actionNames } from './registry';
export { runAction } from './runner';
