#!/usr/bin/env bash
# longctx serve end to end (tests/server/test_server.py) with the Python that
# LONGCTX_TEST_PYTHON names (.ci/run makes a venv with the openai client), else
# python3. Skipped, saying so, when this longctx was built without the server.
cli=$1 shared=$2 src=$3
if ! "$cli" serve --help >/dev/null 2>&1; then
    echo "SKIP: longctx was built without libmicrohttpd/cJSON: serve is not there to test"
    exit 77
fi
py=${LONGCTX_TEST_PYTHON:-python3}
exec "$py" "$src/tests/server/test_server.py" "$cli" "$src/models/longctx-default.gguf" "$shared"
