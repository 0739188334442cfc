// A node:test reporter that writes one JSON line of counts for scripts/test.mjs's closing
// summary. Node's own totals leave out skipped suites (`describe(..., { skip })`), which is
// how a PostgreSQL suite skips, so a skipped suite counts here as one skipped test.
import { relative } from 'node:path';

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0, failures: [] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, skip, todo, details, file, line } = event.data;
    const suite = details?.type === 'suite';
    if (event.type === 'test:fail') {
      // A suite whose tests failed reports 'subtestsFailed': those tests are counted already.
      if (suite && details?.error?.failureType === 'subtestsFailed') continue;
      counts.failed++;
      // A file that fails outside any test (say, at import) is reported under its own path.
      if (!file) counts.failures.push(name);
      else if (file === name) counts.failures.push(relative(process.cwd(), file));
      else counts.failures.push(`${relative(process.cwd(), file)}:${line}  ${name}`);
    } else if (skip) counts.skipped++;
    else if (suite) continue;
    else if (todo) counts.todo++;
    else counts.passed++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
