#!/usr/bin/env bash
# Structured output end to end: run and chat with --grammar-file, --json-schema
# (a file or inline) and --json-object on a real model; every output parses (Python's
# json) and has the schema's shape; bad grammars and schemas and conflicting
# flags are refused with exit 2 and a message that says where.
# Usage (from ctest): grammar.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
MODEL=$SHARED/models/aidreams260K.gguf
if [ ! -f "$MODEL" ]; then
    echo "SKIP: $MODEL is absent"
    exit 77
fi
. "$(dirname "$0")/lib.bash"

# --- a GBNF grammar ---------------------------------------------------------
printf 'root ::= "Once " word (" " word){2,5} "."\nword ::= [a-z]{2,8}\n' >"$tmp/words.gbnf"
for seed in 1 2 3; do
    run 0 "run --grammar-file seed $seed" "$CLI" run -m "$MODEL" -n 80 --seed "$seed" --grammar-file "$tmp/words.gbnf"
    check "grep -qE '^Once [a-z]{2,8}( [a-z]{2,8}){2,5}\.$' '$tmp/out'" "seed $seed: output is a sentence of the grammar: $(head -c 200 "$tmp/out")"
    has "$tmp/err" "stopped: eos" "seed $seed: ends with EOS once the grammar is complete"
done

# --- JSON Schema: inline and from a file (a build without cJSON says so) -------
has_schema=1
if "$CLI" run -m "$MODEL" -n 1 --json-schema '{}' 2>&1 | grep -q "built without cJSON"; then
    has_schema=0
    echo "note: this build has no JSON Schema support (cJSON absent): the --json-schema checks are skipped"
    run 2 "--json-schema without cJSON is refused" "$CLI" run -m "$MODEL" -n 5 --json-schema '{}'
fi
SCHEMA='{"type":"object","properties":{"name":{"type":"string","maxLength":10},"n":{"type":"integer"},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","n"],"additionalProperties":false}'
printf '%s' "$SCHEMA" >"$tmp/schema.json"
validate='import json,sys
d=json.load(open(sys.argv[1]))
assert isinstance(d,dict) and set(d)<={"name","n","tags"} and {"name","n"}<=set(d), d
assert isinstance(d["name"],str) and len(d["name"])<=10 and isinstance(d["n"],int), d
assert all(t in ("a","b") for t in d.get("tags",[])) and len(d.get("tags",[]))<=3, d'
for seed in 1 2 3 4; do
    [ "$has_schema" = 1 ] || break
    src=$SCHEMA
    [ $((seed % 2)) -eq 0 ] && src=$tmp/schema.json
    run 0 "run --json-schema seed $seed" "$CLI" run -m "$MODEL" -n 300 --seed "$seed" --json-schema "$src"
    check "python3 -c '$validate' '$tmp/out'" "seed $seed: output is valid for the schema: $(head -c 300 "$tmp/out")"
done

# --- --json-object: any object -------------------------------------------------------
run 0 "run --json-object" "$CLI" run -m "$MODEL" -n 400 --seed 5 --json-object
if grep -q "stopped: eos" "$tmp/err"; then
    check "python3 -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])),dict)' '$tmp/out'" \
        "--json-object output is a JSON object: $(head -c 300 "$tmp/out")"
else
    has "$tmp/err" "stopped before the grammar was complete" "an unfinished object is reported"
fi

# --- chat: each reply follows the schema ----------------------------------------
printf 'hello\nagain\n' >"$tmp/msgs"
[ "$has_schema" = 1 ] && run_in 0 "chat --json-schema" "$tmp/msgs" "$CLI" chat -m "$MODEL" -n 300 --seed 7 --json-schema "$SCHEMA"
awk 'BEGIN{n=0} /^<<<END>>>$/{n++; next} {print > ("'"$tmp"'/reply" n)}' "$tmp/out"
for r in 0 1; do
    [ "$has_schema" = 1 ] || break
    check "[ -s '$tmp/reply$r' ] && python3 -c '$validate' '$tmp/reply$r'" "chat reply $r is valid for the schema: $(head -c 300 "$tmp/reply$r" 2>/dev/null)"
done

# --- refusals -------------------------------------------------------------------
printf 'root ::= "a" b\n' >"$tmp/bad.gbnf"
run 2 "an undefined rule" "$CLI" run -m "$MODEL" -n 5 --grammar-file "$tmp/bad.gbnf"
has "$tmp/err" "grammar:1:14: undefined rule 'b'" "the error names line and column"
printf 'root ::= x\nx ::= x "a" | "b"\n' >"$tmp/left.gbnf"
run 2 "left recursion" "$CLI" run -m "$MODEL" -n 5 --grammar-file "$tmp/left.gbnf"
has "$tmp/err" "left recursion: rule 'x'" "left recursion is named"
if [ "$has_schema" = 1 ]; then
    run 2 "an unsupported keyword" "$CLI" run -m "$MODEL" -n 5 --json-schema '{"type":"string","pattern":"a+"}'
    has "$tmp/err" "keyword 'pattern' is not supported" "the keyword is named"
fi
run 2 "two grammars" "$CLI" run -m "$MODEL" -n 5 --json-object --grammar-file "$tmp/words.gbnf"
run 2 "--ignore-eos with a grammar" "$CLI" run -m "$MODEL" -n 5 --json-object --ignore-eos
run 1 "a missing grammar file" "$CLI" run -m "$MODEL" -n 5 --grammar-file "$tmp/nope.gbnf"
run 2 "a missing value" "$CLI" run -m "$MODEL" -n 5 --json-schema

# --- --grammar-steps: the per-token budget of parse steps ---------------------------
# 300 optional characters: every byte walks about 300 parse stacks, some thousands of steps a token
printf 'root ::= ("a"?){300} "b"\n' >"$tmp/ambig.gbnf"
run 0 "run: no budget (the default)" "$CLI" run -m "$MODEL" -n 8 --grammar-file "$tmp/ambig.gbnf"
check "grep -qE '^a*b$' '$tmp/out'" "the ambiguous grammar's output: $(head -c 200 "$tmp/out")"
run 0 "run --grammar-steps 4000000" "$CLI" run -m "$MODEL" -n 8 --grammar-file "$tmp/ambig.gbnf" --grammar-steps 4000000
run 1 "run --grammar-steps 1000" "$CLI" run -m "$MODEL" -n 8 --grammar-file "$tmp/ambig.gbnf" --grammar-steps 1000
has "$tmp/err" "more than 1000 parse steps for one token" "run: the budget is named"
printf 'hello\n' >"$tmp/hello"
run_in 0 "chat --grammar-steps 1000" "$tmp/hello" "$CLI" chat -m "$MODEL" -n 8 --grammar-file "$tmp/ambig.gbnf" --grammar-steps 1000
has "$tmp/out" "more than 1000 parse steps for one token" "chat: the reply says the budget was exceeded"
run_in 0 "chat, no budget" "$tmp/hello" "$CLI" chat -m "$MODEL" -n 8 --grammar-file "$tmp/ambig.gbnf"
check "! grep -q 'parse steps' '$tmp/out'" "chat without a budget: no budget message"
run 2 "--grammar-steps -1" "$CLI" run -m "$MODEL" -n 5 --grammar-file "$tmp/ambig.gbnf" --grammar-steps -1
has "$tmp/err" "--grammar-steps" "the bad value names the option"

finish grammar
