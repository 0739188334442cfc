#!/usr/bin/env sh
# The three stages of a model-promotion pipeline, against a Berth server:
#   1. pull the candidate and evaluate it (on this machine; the server never runs user code)
#   2. run the policy's gates on the recorded evidence (exit non-zero on any failure)
#   3. promote: the server evaluates the same gates again and moves the alias only if they pass
# Deploying is not a stage here: a deploy job subscribes to `alias.moved` webhooks
# (see deploy-receiver.mjs). Rolling back is one command:
#   berth rollback "$MODEL" "$ALIAS" --reason "quality regression"
#
# Configuration (environment):
#   BERTH_URL, BERTH_TOKEN   the server and an editor token scoped to the model
#   MODEL                    model name, e.g. chatbot
#   CANDIDATE                the version to promote, e.g. 12
#   POLICY                   the policy to gate on (default: $MODEL-promotion)
#   ALIAS                    the alias to move (default: the policy's target alias)
#   EVAL_COMMAND             the evaluation to run; {model_dir} is the pulled candidate and
#                            {output} the JSON file of metrics it must write
#   EVAL_DATASET             optional dataset reference recorded with the metrics (name@sha256:…)
#   LATENCY_URL, LATENCY_BODY  optional: a serving endpoint of the candidate to probe for p50/p95/p99
#   BERTH                    the berth command (default: berth)
set -eu

: "${MODEL:?set MODEL to the model name}"
: "${CANDIDATE:?set CANDIDATE to the version to promote}"
: "${EVAL_COMMAND:?set EVAL_COMMAND, e.g. python eval.py --model-dir {model_dir} --out {output}}"
POLICY="${POLICY:-$MODEL-promotion}"
BERTH="${BERTH:-berth}"
REF="$MODEL:$CANDIDATE"
REASON="${REASON:-promoted by CI${GITHUB_RUN_ID:+ run $GITHUB_RUN_ID}}"

echo "== stage 1: pull $REF and evaluate it"
if [ -n "${EVAL_DATASET:-}" ]; then
  $BERTH eval run "$REF" --command "$EVAL_COMMAND" --dataset "$EVAL_DATASET"
else
  $BERTH eval run "$REF" --command "$EVAL_COMMAND"
fi
if [ -n "${LATENCY_URL:-}" ] && [ -n "${LATENCY_BODY:-}" ]; then
  $BERTH eval latency "$REF" --url "$LATENCY_URL" --body "$LATENCY_BODY" \
    --requests "${LATENCY_REQUESTS:-1000}" --concurrency "${LATENCY_CONCURRENCY:-16}"
elif [ -n "${LATENCY_URL:-}" ]; then
  $BERTH eval latency "$REF" --url "$LATENCY_URL" \
    --requests "${LATENCY_REQUESTS:-1000}" --concurrency "${LATENCY_CONCURRENCY:-16}"
fi

echo "== stage 2: gates of $POLICY"
$BERTH gate check "$REF" --policy "$POLICY"

echo "== stage 3: promote $REF"
if [ -n "${ALIAS:-}" ]; then
  $BERTH promote "$REF" --to "$ALIAS" --policy "$POLICY" --reason "$REASON"
else
  $BERTH promote "$REF" --policy "$POLICY" --reason "$REASON"
fi
