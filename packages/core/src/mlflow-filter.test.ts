import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  likeToRegExp,
  parseMlflowExperimentFilter,
  parseMlflowExperimentOrderBy,
  parseMlflowFilter,
  parseMlflowOrderBy,
  parseMlflowRunFilter,
  parseMlflowRunOrderBy,
} from './mlflow-filter.js';

const refused = (fn: () => unknown, message: RegExp, field = 'filter') =>
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; message: string; details?: { field?: string } };
    return err.code === 'INVALID_ARGUMENT' && message.test(err.message) && err.details?.field === field;
  });

describe('MLflow model and version search filters', () => {
  it('parses the clauses MLflow clients send', () => {
    assert.deepEqual(parseMlflowFilter(undefined, 'models'), []);
    assert.deepEqual(parseMlflowFilter('  ', 'models'), []);
    assert.deepEqual(parseMlflowFilter("name = 'chatbot'", 'models'), [{ type: 'attribute', key: 'name', op: '=', value: 'chatbot' }]);
    assert.deepEqual(parseMlflowFilter('attributes.name LIKE "chat%" and tags.team != \'a\'', 'models'), [
      { type: 'attribute', key: 'name', op: 'LIKE', value: 'chat%' },
      { type: 'tag', key: 'team', op: '!=', value: 'a' },
    ]);
    assert.deepEqual(parseMlflowFilter("tag.`mlflow.prompt.is_prompt` != 'true'", 'models'), [
      { type: 'tag', key: 'mlflow.prompt.is_prompt', op: '!=', value: 'true' },
    ]);
    assert.deepEqual(parseMlflowFilter("tags.acc.group ILIKE '%X%'", 'models'), [{ type: 'tag', key: 'acc.group', op: 'ILIKE', value: '%X%' }]);
    assert.deepEqual(parseMlflowFilter("run_id IN ('a', 'b') AND version_number >= 3 AND source_path = 'runs:/x/m' AND version_number <> '4'", 'versions'), [
      { type: 'attribute', key: 'run_id', op: 'IN', value: ['a', 'b'] },
      { type: 'attribute', key: 'version_number', op: '>=', value: 3 },
      { type: 'attribute', key: 'source_path', op: '=', value: 'runs:/x/m' },
      { type: 'attribute', key: 'version_number', op: '!=', value: 4 },
    ]);
    assert.deepEqual(parseMlflowFilter("name = 'it\\'s'", 'models'), [{ type: 'attribute', key: 'name', op: '=', value: "it's" }]);
    assert.deepEqual(
      parseMlflowFilter('version_number < 10 and version_number > 1 and version_number <= 9', 'versions').map((c) => c.op),
      ['<', '>', '<='],
    );
  });

  it('reads registry attribute and entity names in any case, and tag keys as written', () => {
    assert.deepEqual(parseMlflowFilter("NAME = 'a' AND Attributes.Name != 'b' AND TAGS.Team = 'c'", 'models'), [
      { type: 'attribute', key: 'name', op: '=', value: 'a' },
      { type: 'attribute', key: 'name', op: '!=', value: 'b' },
      { type: 'tag', key: 'Team', op: '=', value: 'c' },
    ]);
    refused(() => parseMlflowRunFilter("RUN_NAME = 'a'"), /invalid attribute key 'RUN_NAME'/);
  });

  it('refuses what MLflow refuses, with INVALID_ARGUMENT', () => {
    const cases: [string, 'models' | 'versions', RegExp][] = [
      ["name = 'a' OR name = 'b'", 'models', /Only AND/],
      ["NOT name = 'a'", 'models', /Only AND/],
      ["name = 'a", 'models', /unterminated quote/],
      ['tags.`open = 1', 'models', /unterminated backtick/],
      ["run_id = 'x'", 'models', /invalid attribute key 'run_id'/],
      ["colour = 'x'", 'versions', /invalid attribute key 'colour'/],
      ["name < 'x'", 'models', /'<' is not supported/],
      ['name = 3', 'models', /compares with a quoted string/],
      ["version_number = 'x'", 'versions', /compares with an integer/],
      ["run_id IN 'a'", 'versions', /parenthesised list/],
      ['run_id IN (1)', 'versions', /non-empty list of quoted strings/],
      ['run_id IN (version_number)', 'versions', /quoted strings/],
      ["`name` = 'x'", 'models', /invalid attribute key '`name`'/],
      ["run_id IN ('a' 'b')", 'versions', /expected , or \)/],
      ["name = 'a' name = 'b'", 'models', /expected AND/],
      ["= 'a'", 'models', /expected an attribute/],
      ['name', 'models', /expected a comparator/],
      ['name =', 'models', /expected a value/],
      ["name = 'a' ; drop", 'models', /unexpected ";/],
      ["(name = 'a')", 'models', /expected an attribute/],
      ['"name" = \'a\'', 'models', /expected an attribute such as name or tags.<key>, found "name"/],
      ['metrics.a > 1', 'versions', /invalid entity type 'metrics': use attributes. or tags./],
      ["run_id NOT IN ('a')", 'versions', /'NOT IN' is not supported for run_id/],
      ['tags.team IS NULL', 'models', /'IS NULL' is not supported/],
    ];
    for (const [f, kind, m] of cases) refused(() => parseMlflowFilter(f, kind), m);
  });

  it('turns LIKE patterns into exact, case-aware matchers', () => {
    assert.ok(likeToRegExp('chat%', false).test('chatbot'));
    assert.ok(!likeToRegExp('chat%', false).test('Chatbot'), 'LIKE is case-sensitive, as MLflow sets it');
    assert.ok(likeToRegExp('chat%', true).test('CHATBOT'));
    assert.ok(likeToRegExp('v_', false).test('v1') && !likeToRegExp('v_', false).test('v10'));
    assert.ok(likeToRegExp('a.b', false).test('a.b') && !likeToRegExp('a.b', false).test('axb'), 'regex characters are literal');
  });
});

describe('MLflow model and version search order_by', () => {
  it('parses the keys MLflow orders models and versions by, in any case, with their aliases', () => {
    assert.deepEqual(parseMlflowOrderBy([], 'models'), []);
    assert.deepEqual(parseMlflowOrderBy(['NAME desc', 'attributes.timestamp'], 'models'), [
      { key: 'name', ascending: false },
      { key: 'last_updated_timestamp', ascending: true },
    ]);
    assert.deepEqual(parseMlflowOrderBy(['version_number DESC', 'Attribute.Creation_Timestamp', ' last_updated_timestamp ASC '], 'versions'), [
      { key: 'version_number', ascending: false },
      { key: 'creation_timestamp', ascending: true },
      { key: 'last_updated_timestamp', ascending: true },
    ]);
  });

  it('refuses unknown, filter-only and duplicate keys, and no filter takes the order-only times', () => {
    const cases: [string[], 'models' | 'versions', RegExp][] = [
      [['version_number'], 'models', /invalid attribute key 'version_number': use one of name, last_updated_timestamp/],
      [['run_id'], 'versions', /invalid attribute key 'run_id'/],
      [['tags.team'], 'versions', /model versions cannot be ordered by tags: they are ordered by name, last_updated_timestamp, version_number/],
      [['name sideways'], 'models', /expected <key> \[ASC\|DESC\]/],
      [['timestamp', 'last_updated_timestamp DESC'], 'models', /same key twice/],
    ];
    for (const [o, kind, m] of cases) refused(() => parseMlflowOrderBy(o, kind), m, 'order_by');
    refused(() => parseMlflowFilter('timestamp > 5', 'models'), /invalid attribute key 'timestamp': use one of name$/);
    refused(() => parseMlflowFilter('creation_timestamp > 5', 'versions'), /use one of name, run_id, source_path, version_number$/);
  });
});

describe('MLflow run search filters', () => {
  it('parses metric, param, tag, attribute and dataset clauses joined by AND', () => {
    assert.deepEqual(parseMlflowRunFilter(undefined), []);
    assert.deepEqual(parseMlflowRunFilter(' '), []);
    assert.deepEqual(parseMlflowRunFilter("metrics.val_loss < 0.5 and params.lr = '0.01' AND tags.mlflow.runName LIKE 'ft-%'"), [
      { type: 'metric', key: 'val_loss', op: '<', value: 0.5 },
      { type: 'param', key: 'lr', op: '=', value: '0.01' },
      { type: 'tag', key: 'mlflow.runName', op: 'LIKE', value: 'ft-%' },
    ]);
    assert.deepEqual(parseMlflowRunFilter('metric.acc >= 9 AND metrics.acc != -1.5e2 AND metrics.x<=.5 AND metrics.y>+3'), [
      { type: 'metric', key: 'acc', op: '>=', value: 9 },
      { type: 'metric', key: 'acc', op: '!=', value: -150 },
      { type: 'metric', key: 'x', op: '<=', value: 0.5 },
      { type: 'metric', key: 'y', op: '>', value: 3 },
    ]);
    assert.deepEqual(parseMlflowRunFilter("param.a ILIKE \"%X%\" AND parameter.b != 'c' AND parameters.c IS NULL AND tag.d is not null AND tags.e <> 'f'"), [
      { type: 'param', key: 'a', op: 'ILIKE', value: '%X%' },
      { type: 'param', key: 'b', op: '!=', value: 'c' },
      { type: 'param', key: 'c', op: 'IS NULL', value: null },
      { type: 'tag', key: 'd', op: 'IS NOT NULL', value: null },
      { type: 'tag', key: 'e', op: '!=', value: 'f' },
    ]);
    assert.deepEqual(parseMlflowRunFilter("metrics.`val loss` > 1 AND params.\"learning-rate\" = '1' AND tags.`a.b` = 'x'"), [
      { type: 'metric', key: 'val loss', op: '>', value: 1 },
      { type: 'param', key: 'learning-rate', op: '=', value: '1' },
      { type: 'tag', key: 'a.b', op: '=', value: 'x' },
    ]);
  });

  it('reads attributes by every name MLflow accepts, translating its aliases', () => {
    assert.deepEqual(parseMlflowRunFilter("attributes.status = 'FINISHED' AND run_name = 'a' AND attr.user_id != 'b' AND run.artifact_uri LIKE 'x%'"), [
      { type: 'attribute', key: 'status', op: '=', value: 'FINISHED' },
      { type: 'attribute', key: 'run_name', op: '=', value: 'a' },
      { type: 'attribute', key: 'user_id', op: '!=', value: 'b' },
      { type: 'attribute', key: 'artifact_uri', op: 'LIKE', value: 'x%' },
    ]);
    assert.deepEqual(parseMlflowRunFilter('attributes.start_time >= 1700000000000 AND end_time < 5 AND created > 1 AND attribute.Created < 2'), [
      { type: 'attribute', key: 'start_time', op: '>=', value: 1700000000000 },
      { type: 'attribute', key: 'end_time', op: '<', value: 5 },
      { type: 'attribute', key: 'start_time', op: '>', value: 1 },
      { type: 'attribute', key: 'start_time', op: '<', value: 2 },
    ]);
    assert.deepEqual(
      parseMlflowRunFilter("`Run name` = 'a' AND \"run name\" = 'b' AND attributes.`Run Name` = 'c'").map((c) => c.key),
      ['run_name', 'run_name', 'run_name'],
    );
    assert.deepEqual(parseMlflowRunFilter("run_id IN ('a', \"b\") AND attributes.run_id NOT IN ('c') AND run_id = 'd'"), [
      { type: 'attribute', key: 'run_id', op: 'IN', value: ['a', 'b'] },
      { type: 'attribute', key: 'run_id', op: 'NOT IN', value: ['c'] },
      { type: 'attribute', key: 'run_id', op: '=', value: 'd' },
    ]);
    assert.deepEqual(parseMlflowRunFilter("datasets.name IN ('a','b') AND dataset.context = 'training' AND datasets.digest LIKE 'ab%'"), [
      { type: 'dataset', key: 'name', op: 'IN', value: ['a', 'b'] },
      { type: 'dataset', key: 'context', op: '=', value: 'training' },
      { type: 'dataset', key: 'digest', op: 'LIKE', value: 'ab%' },
    ]);
  });

  it('unescapes quotes inside string values', () => {
    assert.deepEqual(
      parseMlflowRunFilter("tags.note = 'it''s' AND tags.b = 'a\\'b' AND tags.c = \"say \"\"hi\"\"\"").map((c) => c.value),
      ["it's", "a'b", 'say "hi"'],
    );
  });

  it('refuses malformed and unsupported filters with INVALID_ARGUMENT naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['metrics.a > 1 OR metrics.b > 1', /OR is not supported/],
      ['NOT metrics.a > 1', /NOT is not supported/],
      ["or = 'x'", /OR is not supported/],
      ['metrics.a > 1 NOT metrics.b > 1', /NOT is not supported/],
      ["params.a = 'x", /unterminated quote/],
      ['`run_id = 1', /unterminated backtick/],
      ['metrics.`a > 1', /unexpected/],
      ['params."a = 1', /unexpected "\.\\"a = 1": unterminated quote/],
      ["metric.a > 'x'", /compares with a number/],
      ['params.a = 1', /compares with a quoted string/],
      ['tags.a = `b`', /compares with a quoted string/],
      ["metrics.a LIKE '1'", /'LIKE' is not supported for metrics.a/],
      ['metrics.a IS NULL', /'IS NULL' is not supported/],
      ["params.a > 'x'", /'>' is not supported/],
      ["status IN ('a')", /'IN' is not supported for status/],
      ["start_time = 'x'", /compares with a number/],
      ["start_time LIKE '1'", /not supported/],
      ["colour = 'red'", /invalid attribute key 'colour'/],
      ["experiment_id = '1'", /invalid attribute key 'experiment_id'/],
      ['metrix.a > 1', /invalid entity type 'metrix'/],
      ['Metrics.a > 1', /invalid entity type 'Metrics'/],
      ["datasets.schema = 'x'", /invalid dataset key 'schema'/],
      ["run_id IN 'a'", /parenthesised list/],
      ['run_id IN ()', /non-empty list/],
      ['run_id IN (1)', /non-empty list of quoted strings/],
      ["run_id IN ('a' 'b')", /expected , or \)/],
      ["params.a = 'x' params.b = 'y'", /expected AND, found "params.b"/],
      ["params.a = 'x' AND", /found the end/],
      ["= 'a'", /expected an identifier/],
      ["'a' = 'a'", /expected an identifier/],
      ['params.a', /expected a comparator after params.a/],
      ['params.a =', /expected a value after =/],
      ["params.a = 'x' ; drop", /unexpected ";/],
      ["(params.a = 'x')", /expected an identifier/],
      ["tags. = 'x'", /unexpected/],
      ["tags.`` = 'x'", /missing key after 'tags.'/],
    ];
    for (const [f, m] of cases) refused(() => parseMlflowRunFilter(f), m);
  });
});

describe('MLflow run search order_by', () => {
  it('parses keys and directions; bare attributes and aliases resolve as in MLflow', () => {
    assert.deepEqual(parseMlflowRunOrderBy([]), []);
    assert.deepEqual(
      parseMlflowRunOrderBy(
        ['metrics.val_loss DESC', 'params.lr', 'tags.`team name` asc', 'attributes.start_time Desc', 'run_name', 'created DESC'].slice(0, 5),
      ),
      [
        { type: 'metric', key: 'val_loss', ascending: false },
        { type: 'param', key: 'lr', ascending: true },
        { type: 'tag', key: 'team name', ascending: true },
        { type: 'attribute', key: 'start_time', ascending: false },
        { type: 'attribute', key: 'run_name', ascending: true },
      ],
    );
    assert.deepEqual(parseMlflowRunOrderBy(['Created DESC']), [{ type: 'attribute', key: 'start_time', ascending: false }]);
  });

  it('refuses malformed, unknown and duplicate keys', () => {
    const cases: [string[], RegExp][] = [
      [[''], /expected <key>/],
      [['metrics.a DESC extra'], /expected <key>/],
      [['metrics.a sideways'], /expected <key>/],
      [["'metrics.a'"], /expected <key>/],
      [['metrics.a `DESC`'], /expected <key>/],
      [['datasets.name'], /cannot be ordered by datasets/],
      [['`run name`'], /invalid attribute key 'run name'/],
      [['colour'], /invalid attribute key/],
      [['metrics.a', 'metric.a DESC'], /same key twice/],
      [['start_time', 'created'], /same key twice/],
    ];
    for (const [o, m] of cases) refused(() => parseMlflowRunOrderBy(o), m, 'order_by');
  });
});

describe('MLflow experiment search filters and order_by', () => {
  it('parses name, id, time and tag clauses', () => {
    assert.deepEqual(
      parseMlflowExperimentFilter(
        "name = 'x' AND attribute.name LIKE 'x%' AND experiment_id IN ('1','2') AND creation_time > 5 AND tags.team = 'a' AND tag.b IS NULL",
      ),
      [
        { type: 'attribute', key: 'name', op: '=', value: 'x' },
        { type: 'attribute', key: 'name', op: 'LIKE', value: 'x%' },
        { type: 'attribute', key: 'experiment_id', op: 'IN', value: ['1', '2'] },
        { type: 'attribute', key: 'creation_time', op: '>', value: 5 },
        { type: 'tag', key: 'team', op: '=', value: 'a' },
        { type: 'tag', key: 'b', op: 'IS NULL', value: null },
      ],
    );
    assert.deepEqual(parseMlflowExperimentOrderBy(['name', 'last_update_time DESC']), [
      { key: 'name', ascending: true },
      { key: 'last_update_time', ascending: false },
    ]);
  });

  it('refuses what experiments do not have', () => {
    refused(() => parseMlflowExperimentFilter('metrics.a > 1'), /invalid entity type 'metrics'/);
    refused(() => parseMlflowExperimentFilter("run_name = 'a'"), /invalid attribute key 'run_name'/);
    refused(() => parseMlflowExperimentFilter("name IN ('a')"), /'IN' is not supported for name/);
    refused(() => parseMlflowExperimentFilter("experiment_id > '1'"), /'>' is not supported/);
    refused(() => parseMlflowExperimentFilter("last_update_time > 'x'"), /compares with a number/);
    refused(() => parseMlflowExperimentOrderBy(['tags.team']), /ordered by name, experiment_id/, 'order_by');
    refused(() => parseMlflowExperimentOrderBy(['start_time']), /invalid attribute key 'start_time'/, 'order_by');
  });
});
