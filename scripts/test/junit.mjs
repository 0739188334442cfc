// Reads the JUnit XML that pytest writes (`--junitxml`) into the counts of the closing line.
// Each <testcase> counts once: failed when it holds a <failure> or an <error> (pytest reports
// a teardown error of a failed test inside the same testcase), skipped when it holds <skipped>.
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
});

/** { passed, failed, skipped, failures: ['file::Class::test', …] } from a JUnit XML document. */
export function junitCounts(xml) {
  const doc = parser.parse(xml);
  const suites = [...(doc.testsuites?.testsuite ?? []), ...(doc.testsuite ?? [])];
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const testcase of suites.flatMap((s) => s.testcase ?? [])) {
    if (testcase.failure || testcase.error) {
      counts.failed++;
      counts.failures.push(testcase.classname ? `${testcase.classname}::${testcase.name}` : String(testcase.name));
    } else if (testcase.skipped) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}
