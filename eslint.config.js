// Lint and layering rules (`npm run lint`, run by CI before the tests). Type-aware typescript-eslint rules catch
// what a live server cannot afford (a promise nobody awaits or catches, an async callback where a sync one is
// expected); the layering rules keep data flowing one way: ingest -> sfu / transcode -> storage -> api.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { readdirSync } from 'node:fs';

/** What each folder of src may not import (gitignore-style patterns over the import path), and why. */
const layers = [
  {
    folders: ['storage', 'db', 'transcode', 'sfu', 'ingest', 'media', 'ffmpeg'],
    forbid: ['**/api/**'],
    why: 'storage, db, transcode, sfu and ingest never import the HTTP layer (src/api)',
  },
  { folders: ['workers'], forbid: ['**/sfu/**', '**/ingest/**', '**/api/**'], why: 'workers never import the SFU, ingest or the HTTP layer' },
  {
    folders: ['sfu'],
    forbid: ['**/live/**', '**/transcode/**', '**/ingest/**'],
    why: 'the SFU knows rooms and peers, not live sessions, transcoders or encoders',
  },
  { folders: ['ingest'], forbid: ['**/transcode/**', '**/live/**'], why: 'ingest hands packets on (WHIP into an SFU room): it knows no transcoder or session' },
  {
    folders: ['transcode'],
    forbid: ['**/ingest/**', '**/sfu/**', '**/live/**'],
    why: 'the transcoder reads media: it knows no encoder connection, SFU or session',
  },
  { folders: ['storage', 'db', 'media', 'contract', 'ffmpeg'], forbid: ['**/live/**', '**/workers/**'], why: 'shared modules depend on nothing above them' },
];
/** Nothing in src reaches up into the composition root, the benches, the tests or the browser code. */
const upward = {
  group: ['**/app.ts', '**/app/**', '**/bench/**', '**/tests/**', '**/web/**'],
  message: 'src never imports the composition root, bench/, tests/ or web/',
};
const srcFolders = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'app')
  .map((entry) => entry.name);
const restrict = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });
const layering = [
  ...srcFolders.map((folder) =>
    restrict(
      [`src/${folder}/**`],
      [upward, ...layers.filter((layer) => layer.folders.includes(folder)).map(({ forbid, why }) => ({ group: forbid, message: why }))],
    ),
  ),
  restrict(['src/*.ts'], [upward]),
  // The entry points start the composition root.
  { files: ['src/main.ts', 'src/worker-main.ts', 'src/app.ts'], rules: { 'no-restricted-imports': 'off' } },
  restrict(['web/**'], [{ regex: '^(\\.\\./)+src/(?!contract/)', message: 'browser code imports only the shared contract from the server tree' }]),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'drizzle/**', 'data/**', 'test-output/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['web/vite.config.ts', 'eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A floating promise in a media server is an unhandled rejection waiting to happen: await it, catch it, or
      // mark it `void` where the code handles its outcome.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // Values from JSON, SDP and the network are typed at the edge with zod; these rules add noise, not safety, there.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/require-await': 'off',
      // Rejections carrying an HTTP answer, String() of checked values and callbacks taken from objects are
      // deliberate here; these rules flagged only those.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      'no-control-regex': 'off',
      'prefer-const': 'error',
      eqeqeq: ['error', 'smart'],
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests and benches are long scenario functions by nature, and reach into browsers and peers whose objects
    // have no types here; the 120-line rule and the ban on `any` are for the product.
    files: ['tests/**', 'bench/**', '**/*.test.ts', 'web/**'],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    files: ['tests/**', 'bench/**', '**/*.test.ts'],
    // Promise.all over helpers that may or may not be async is fine in a scenario.
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/await-thenable': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
  ...layering,
);
