#!/usr/bin/env bash
# The chat page in headless Chromium (tests/server/test_webui_browser.py).
# Skipped, saying so, without the server in this build, without python3, or
# without a chromium on PATH (Debian: apt-get install chromium; .ci/run
# installs it).
cli=$1 shared=$2 src=$3
if ! "$cli" serve --help >/dev/null 2>&1; then
    echo "SKIP: longctx was built without libmicrohttpd/cJSON: serve is not there to test"
    exit 77
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "SKIP: no chromium on PATH (Debian: apt-get install chromium): the chat page's browser test needs one"
    exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 is absent"; exit 77; }
exec python3 "$src/tests/server/test_webui_browser.py" "$cli" "$src/models/longctx-default.gguf" "$browser"
