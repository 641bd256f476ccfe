#!/usr/bin/env bash
# gpt-oss and Qwen3-Next from the command line: info shows the family and
# layer pattern, run (token ids) and bench model work, the refusals name why
# (linear attention, convert), every KV policy past -c; run --session on Qwen3-Next
# continues exactly as one run.
# Usage (from ctest): families_moe.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
FX=$SHARED/fixtures
if [ ! -f "$FX/gpt-oss/model.f16.gguf" ] || [ ! -f "$FX/qwen3-next/model.f16.gguf" ]; then
    echo "SKIP: the gpt-oss / qwen3-next fixtures are absent"
    exit 77
fi
. "$(dirname "$0")/lib.bash"

run 0 "info gpt-oss" "$CLI" info "$FX/gpt-oss/model.f16.gguf"
has "$tmp/out" "architecture  gpt-oss" "gpt-oss arch"
has "$tmp/out" "qkv bias, output bias, learned sinks, moe 4 experts, 2 used" "gpt-oss family"
has "$tmp/out" "WG (window 32 on 1 of 2 layers)" "gpt-oss pattern"
run 0 "info qwen3next" "$CLI" info "$FX/qwen3-next/model.f16.gguf"
has "$tmp/out" "DDDG (gated deltanet on 3 of 4 layers)" "qwen3next pattern"
has "$tmp/out" "shared expert ffn 128" "qwen3next shared expert"
for f in gpt-oss/model.f16.gguf gpt-oss/model.MXFP4_MOE.gguf qwen3-next/model.f16.gguf; do
    run 0 "run $f" "$CLI" run -m "$FX/$f" --prompt-tokens 5,6,7,8,9 -n 40 --temp 0 --tokens --ignore-eos -c 128 -b 3
    check "[ \$(wc -w < $tmp/out) -ge 40 ]" "run $f: fewer than 40 token ids ($(head -c 200 "$tmp/out"))"
done
run 0 "bench model qwen3next" "$CLI" bench model -m "$FX/qwen3-next/model.f16.gguf" --ctx 64 -n 4 --no-peak
has "$tmp/out" "64 |" "bench model row"
run 0 "bench model gpt-oss" "$CLI" bench model -m "$FX/gpt-oss/model.f16.gguf" --ctx 64 -n 4 --no-peak
has "$tmp/out" "64 |" "bench model row"
# every KV policy runs both families past -c (docs/kv-cache.md, "Hybrid models")
for f in qwen3-next gpt-oss; do
    for pol in window:24 sinks:4:24 shift:4 h2o:4:16:8; do
        run 0 "$f $pol" "$CLI" run -m "$FX/$f/model.f16.gguf" --prompt-tokens 5,6,7,8,9 -n 100 --temp 0 --tokens \
            --ignore-eos -c 48 --kv-policy "$pol"
        check "[ \$(wc -w < $tmp/out) -eq 100 ]" "$f $pol: not 100 token ids past -c 48 ($(head -c 200 "$tmp/out"))"
        has "$tmp/err" "stopped: length" "$f $pol stop reason"
    done
done
run 1 "qwen3next linear" "$CLI" run -m "$FX/qwen3-next/model.f16.gguf" --prompt-tokens 5,6 -n 4 --attn linear
has "$tmp/err" "not linear" "qwen3next linear refusal"
# run --session on Qwen3-Next: the DeltaNet states travel with the KV cache.
# Batch 1 everywhere, so a continued run computes exactly what one run does.
Q=(run -m "$FX/qwen3-next/model.f16.gguf" -n 6 --temp 0 --tokens --ignore-eos -c 128 -b 1)
run 0 "qwen3next session save" "$CLI" "${Q[@]}" --prompt-tokens 5,6,7,8,9 --session "$tmp/s.sess"
has "$tmp/err" "session saved to $tmp/s.sess (10 tokens)" "qwen3next session saved"
read -r -a first < "$tmp/out"
ext="5,6,7,8,9,${first[0]},${first[1]},${first[2]},${first[3]},${first[4]},11,12"
run 0 "qwen3next session continued" "$CLI" "${Q[@]}" --prompt-tokens "$ext" --session "$tmp/s.sess"
has "$tmp/err" "10 of 12 prompt tokens reused (10 in the file)" "qwen3next session reused"
cp "$tmp/out" "$tmp/continued"
run 0 "qwen3next no session" "$CLI" "${Q[@]}" --prompt-tokens "$ext"
check "cmp -s $tmp/out $tmp/continued" "qwen3next: the continued run differs from one run ($(cat "$tmp/continued") vs $(cat "$tmp/out"))"
check "[ \$(wc -w < $tmp/out) -eq 6 ]" "qwen3next: 6 token ids ($(cat "$tmp/out"))"
# a shorter prompt: the states cannot forget, so truncation evaluates the kept
# prefix again (lc_context_truncate) and the ids are those of one run
run 0 "qwen3next session prefix" "$CLI" "${Q[@]}" --prompt-tokens 5,6,7 --session "$tmp/s.sess"
has "$tmp/err" "2 of 3 prompt tokens reused (17 in the file)" "qwen3next session cut back"
cp "$tmp/out" "$tmp/over"
run 0 "qwen3next prefix no session" "$CLI" "${Q[@]}" --prompt-tokens 5,6,7
check "cmp -s $tmp/out $tmp/over" "qwen3next: the restarted run differs ($(cat "$tmp/over") vs $(cat "$tmp/out"))"
# gpt-oss under the full policy: the window layer's ring travels in the session
G=(run -m "$FX/gpt-oss/model.f16.gguf" -n 6 --temp 0 --tokens --ignore-eos -c 128 -b 1)
run 0 "gpt-oss ring session save" "$CLI" "${G[@]}" --prompt-tokens 5,6,7,8,9 --session "$tmp/r.sess"
has "$tmp/err" "session saved to $tmp/r.sess (10 tokens)" "gpt-oss ring session saved"
read -r -a gfirst < "$tmp/out"
gext="5,6,7,8,9,${gfirst[0]},${gfirst[1]},${gfirst[2]},${gfirst[3]},${gfirst[4]},11,12"
run 0 "gpt-oss ring session continued" "$CLI" "${G[@]}" --prompt-tokens "$gext" --session "$tmp/r.sess"
has "$tmp/err" "10 of 12 prompt tokens reused (10 in the file)" "gpt-oss ring session reused"
cp "$tmp/out" "$tmp/gcontinued"
run 0 "gpt-oss no session" "$CLI" "${G[@]}" --prompt-tokens "$gext"
check "cmp -s $tmp/out $tmp/gcontinued" "gpt-oss: the continued run differs from one run ($(cat "$tmp/gcontinued") vs $(cat "$tmp/out"))"
# a session of another model is refused, naming why
run 0 "gpt-oss session" "$CLI" run -m "$FX/gpt-oss/model.f16.gguf" --prompt-tokens 5,6 -n 2 --temp 0 -c 64 --swa-full \
    --session "$tmp/g.sess"
run 1 "qwen3next foreign session" "$CLI" "${Q[@]}" --prompt-tokens 5,6,7 --session "$tmp/g.sess"
has "$tmp/err" "another model" "qwen3next foreign session refusal"
run 1 "convert qwen3next" "$CLI" convert "$FX/qwen3-next/model.f16.gguf" --type f32 "$tmp/q.gguf"
has "$tmp/err" "only plain llama models are written" "convert refusal"
finish families_moe
