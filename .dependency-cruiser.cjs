// Dependency rules that scripts/check-layers.mjs does not cover: cycles, imports that resolve to
// nothing, packages a file uses without its package.json declaring them, and production code
// that needs a devDependency. The layering of CONVENTIONS.md "Layout" stays in
// scripts/check-layers.mjs (one home per rule; docs/decisions/0010-linters.md).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle: modules that import each other cannot be understood, tested or loaded one at a time; move what both need into a third module',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'this import resolves to no file or package: a typo, a missing file, or a package not installed',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        "this package is not declared in the importing package's package.json: it works only because it is hoisted from another workspace; add it to dependencies",
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'shipped code imports a devDependency, which a production install does not have: move it to dependencies',
      from: {
        path: '^packages/[^/]+/src/',
        pathNot: '\\.test\\.ts$',
      },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-duplicate-dep-types',
      severity: 'error',
      comment: 'this package is declared twice in one package.json (say, in dependencies and devDependencies): keep one',
      from: {},
      to: { moreThanOneDependencyType: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
