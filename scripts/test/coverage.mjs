// The packages/core coverage gate: c8 reads the V8 coverage of every test process and maps it
// back to the .ts sources through the source maps tsx registers; --all also counts core files
// no test loads. Fails below 100% of lines.
import { join } from 'node:path';

/** The c8 command line (after the c8 binary) that runs `coreTests` and checks 100% line coverage. */
export function coreCoverageArgs(coreTests, work) {
  return [
    '--all',
    '--src=packages/core/src',
    '--include=packages/core/src/**/*.ts',
    '--exclude=**/*.test.ts',
    '--reporter=text',
    `--temp-directory=${join(work, 'c8-tmp')}`,
    `--report-dir=${join(work, 'c8-report')}`,
    '--check-coverage',
    '--lines=100',
    process.execPath,
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=dot',
    ...coreTests,
  ];
}
