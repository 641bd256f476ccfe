#!/usr/bin/env bash
# Options declared once per command (cli/opt.h, issue 18): for every command
# whose options are a table,
#  - `--help` lists every spelling `--list-options` says the table parses
#    (the usage text cannot drift from the parser);
#  - a sample of that command's flags, each with a good value, parses (the
#    flags come before --help, which ends the parse with exit 0 once they
#    are all taken), and a bad value of each is ONE line naming the flag,
#    exit 2;
#  - "--name=value", typos ("did you mean") and value-less flags given a value.
# No model is loaded: every check ends at --help or a usage error.
# Usage (from ctest): options.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
. "$(dirname "$0")/lib.bash"

# command (as words) | good flags... | bad flag and value
TABLES=(
  "run|-m x.gguf -p hi -n 8 -c 1K -b 32 -t 1 --attn window:64:4 -ctk q8_0 --kv-policy sinks:4:60 -r stop --json --no-bos --session s.bin --temp 0.5 -s 3 --rope-scaling yarn --rope-scale 2 -ngl 99 -fa off --grammar-file g.gbnf --grammar-steps 1M|--top-k lots"
  "chat|-m x.gguf -n -1 -sys hello --chat-template chatml --delim END --verbose --keep 4 --min-p 0.1 --json --swa 128 --swa-full --swa-period 6|-n 2K2"
  "eval|passkey -m x.gguf --lengths 512,1K --depths 0,50%,100 --trials 2 -s 5 --margin 8 --digits 4 --no-timings --csv c.csv -v --probes -1,-8|--margin 5000"
  "eval|ppl -m x.gguf -f t.txt --stride 128 --max-tokens 4K --attn flash,naive --kv-policy window:64,sinks:4:60|--stride 0"
  "doc|doc.txt -m x.gguf --task qa --question why --strategy refine -n 64 --overlap 16 --chunk-tokens 256 --json --temp 0.2|--strategy sideways"
  "bench kv|-m x.gguf --at 1K,2K -n 4 -r 2 --seed 9 --json -c 512|-r 99"
  "bench model|-m x.gguf --ctx 128,1K -n 4 -b 64 -t 1 --attn flash -ctk q8_0 --swa 64 --swa-period 4 --seed 3 --repeat 2 --interleave --fill-kv random --no-peak --json -ngl 99 -fa 1|--repeat 10"
  "serve|-m x.gguf --alias a --host 0.0.0.0 --port 0 -c 512 -np 2 -t 1 --kv-policy sinks:4:60 --kv-budget 64M --sessions d --prefix-cache 1G --chat-template chatml --api-key k --max-tokens 64 --timeout 2.5 --max-body 4K --queue 0 --queue-timeout 0 -s 4 -b 64 --decode-batch off --prompt-turns=on --grammar-steps 1000|--max-body 12"
  "train|--data toy:copy -o o.gguf --tokenizer synthetic --answer-weight 2 --len-jitter 3 --dim 64 --layers 2 --heads 2 --kv-heads 1 --hidden 96 --head-dim 32 --vocab 40 --untied --attn linear:elu -c 64 -b 2 --steps 10 --lr 3e-4 --min-lr 1e-5 --warmup 2 --wd 0 --clip 0 --beta1 0.8 --beta2 0.99 --seed 7 -t 1 --attn-backward naive --rope-scaling yarn --rope-scale 2 --save-every 5 --log l.csv --eval-every 5 --eval-batches 2 --stop-at 8|--lr 1e99"
  "convert|--random o.gguf --preset 15M --dim 64 --hidden 96 --layers 2 --heads 2 --kv-heads 1 --vocab 40 --head-dim 32 --arch llama -c 128 --seed 4 --untied --rope-freq-base 5e5 --rope-scaling yarn --rope-scale 2 --yarn-orig-ctx 64 --attention linear:elu --type q8_0|--heads 0"
  "convert|--random o.gguf --arch qwen3next --experts 4 --experts-used 2 --expert-ffn 64 --shared-ffn 0 --window 0 --full-attn-interval 2 --ssm-k-heads 2 --ssm-v-heads 4 --ssm-head-dim 16 --conv-kernel 4 --rope-dims 8 --tied|--window -2"
  "analyze|--layers 4 --heads 8 --kv-heads 2 --head-dim 64 --dtype f32 --n 1K,2K --window 128 --chunk 64 -t 1 --measure --max-seconds 0.5 --json --family all|--dtype q8_0"
  "bench matmul|--type q4_0,f16 --rows 64 --cols 256 -n 1,4 -t 1,2 --reps 2 --copies 1 --peak-gbs 10 --no-peak --lc-matmul --json|--type q9_9"
  "bench attn|--method naive,hybrid:flash+window:64:4 --n 1K --d 64 --heads 2 --kv-heads 1 --both --decode --kv-type q8_0 -t 1 --reps 2 --max-seconds 1 --naive-cap 1M --no-peak --quick --json j.json --csv --seed 2|--kv-type bf16"
  "bench serve|-m x.gguf --prefix 1K,2K -r 2 -t 1 --decode 0 --slots 2 --itl 2K,8K -b 128 --decode-batch on --no-ttft|--slots 65"
  "bench train|--ctx 64,128 --attn flash,linear --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 64 --vocab 64 -b 1 --steps 1 -t 1 --sgemm --kernels --no-peak --json|--attn fast"
  "bench rope|-c 1K --head-dim 64 --rope-dims 32 --heads 2 -n 16 --reps 1 --json --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 256|--heads 0"
  "bench sample|--vocab 100,200 --scale 2 -n 4 --reps 1 --json --temp 0.5 --top-k 10|--scale 0"
  "bench contend|-m x.gguf --ctx 16 -n 2 --busy 0 --reps 1 -t 1 --json|--busy -1"
  "bench grammar|-m v.gguf --json-schema s.json --grammar-file g.gbnf --json-object --json -n 10 --pure --out-json|-n 0"
  "bench tokenize|-m v.gguf --vocab-size 32000 -z t.bin -f x.txt --size 4K --reps 1 --json|--size 1G"
  "gen-data|--task vt -c 1K --count 2 -s 3 --depth 0.5 --digits 4 --keys 3 --values 2 --queries 2 --chains 2 --hops 3 --exact --haystack h.txt --no-bos --no-eos -m v.gguf -z t.bin --tokens --json --mix passkey:1 -b 2 --position 4 --vocab --train-bpe c.txt --vocab-size 300 --pre gpt2 --min-freq 3 -o b.gguf|--depth 1.5"
  "plot|--label a --csv a.csv --csv b.csv -x step -y loss,val_loss -o o.svg --title t --smooth 5 --log-y --log-x --gaps --width 640 --height 400|--width 0"
  "tokenize|-m v.gguf -z t.bin --vocab-size 32000 -p hi -f - --stdin --no-bos --pieces --show-count --stats|--vocab-size 0"
  "info|m.gguf -z t.bin --kv --json|--kvv"
  "report|-o out --quick -t 1 --models m --time-budget 60 --seed 2 --json --test-tiny|--time-budget 0"
  "quantize|in.gguf out.gguf Q4_K_M --pure --allow-requantize -t 1|-t 0"
  "bench peak|-t 1 --buffer 64M --json|--buffer 1K"
  "bench sp|-m x.gguf -L 1K -n 4 -r 2 --bandwidth 25 --latency 1.5|--bandwidth 0"
)

# every command and bench subject the CLI lists has an entry above
covered=" $(for e in "${TABLES[@]}"; do printf '%s|' "${e%%|*}"; done) "
"$CLI" --help | awk '/^commands:/{on=1;next} on&&NF{print $1}' | grep -v '^bench$' >"$tmp/cmds"
"$CLI" bench --help | awk '/^subjects:/{on=1;next} on&&/^  [a-z]/{print "bench " $1}' >>"$tmp/cmds"
check '[ "$(wc -l <"$tmp/cmds")" -gt 20 ]' "the command lists were read ($(wc -l <"$tmp/cmds") lines)"
while read -r c; do
    case "$covered" in *"|$c|"*|*" $c|"*) ;; *) fail "no option-table entry in options.sh for '$c'" ;; esac
done <"$tmp/cmds"

for entry in "${TABLES[@]}"; do
    IFS='|' read -r cmd good bad <<<"$entry"
    read -ra c <<<"$cmd"
    read -ra g <<<"$good"
    read -ra b <<<"$bad"
    name=${c[*]}
    if "$CLI" "${c[@]}" --list-options 2>&1 >/dev/null | grep -q "was built without"; then
        echo "SKIP part: $name: this build has no $name ($("$CLI" "${c[@]}" --help 2>&1 | head -c 200))"
        continue
    fi
    run 0 "$name --list-options" "$CLI" "${c[@]}" --list-options
    cp "$tmp/out" "$tmp/names"
    check '[ "$(wc -l <"$tmp/names")" -gt 5 ]' "$name --list-options lists its options"
    run 0 "$name --help" "$CLI" "${c[@]}" --help
    cp "$tmp/out" "$tmp/help"
    missing=""
    while read -r n; do
        # the name as a word of the help: after a blank, ',' or '(' and before a blank, ',', '=' or '['
        grep -qE -- "(^|[ ,(])${n}([ ,=[]|$)" "$tmp/help" || missing="$missing $n"
    done <"$tmp/names"
    check '[ -z "$missing" ]' "$name --help does not list:$missing"
    run 0 "$name: the sample flags parse" "$CLI" "${c[@]}" "${g[@]}" --help
    has "$tmp/out" "usage: " "$name: the sample flags then --help"
    run 2 "$name ${b[*]}" "$CLI" "${c[@]}" "${b[@]}" --help
    check '[ "$(wc -l <"$tmp/err")" -eq 1 ]' "$name ${b[*]}: one line, not $(wc -l <"$tmp/err"): $(head -c 300 "$tmp/err")"
    has "$tmp/err" "${b[0]}" "$name ${b[*]}: the message names the flag"
done

# the generic rules, on run's table
run 0 "--name=value" "$CLI" run --n-predict=8 --temp=0.5 --color=off --help
run 2 "a value-less flag given one" "$CLI" run --json=yes
has "$tmp/err" "longctx run: --json takes no value" "value-less flag message"
run 2 "a missing value" "$CLI" run -n
has "$tmp/err" "longctx run: option -n needs a value" "missing value message"
run 2 "an integer out of range" "$CLI" run -b 0
has "$tmp/err" "-b: '0' is not an integer in 1..1099511627776" "range message"
run 2 "an integer with junk" "$CLI" run -t 2x
has "$tmp/err" "-t: '2x' is not an integer in 1..4096" "junk message"
run 2 "a real out of range" "$CLI" bench sp --latency -1
has "$tmp/err" "--latency: '-1' is not a number in 0..1e+30" "real range message"
run 2 "a bad list" "$CLI" eval passkey --lengths 1K,,2K
has "$tmp/err" "--lengths: '1K,,2K' is not a comma-separated list" "list message"
run 2 "a typo of a table flag" "$CLI" chat --delm x
has "$tmp/err" "longctx chat: unknown option '--delm' (did you mean --delim?)" "did you mean (table)"
run 2 "a typo of a library flag" "$CLI" doc --tmep 0.5
has "$tmp/err" "longctx doc: unknown option '--tmep' (did you mean --temp?)" "did you mean (sampler family)"
run 2 "a typo of a RoPE flag" "$CLI" eval ppl --rope-scal 2
has "$tmp/err" "(did you mean --rope-scale?)" "did you mean (RoPE family)"
run 0 "an optional value: none" "$CLI" bench attn --json --no-peak --help
run 2 "an optional value: a flag is not it" "$CLI" bench attn --csv --nope
has "$tmp/err" "unknown option '--nope'" "the flag after an optional value is parsed as a flag"
run 2 "a second document" "$CLI" doc a.txt b.txt
has "$tmp/err" "unexpected argument 'b.txt'" "one positional argument"
run 2 "no task" "$CLI" eval
has "$tmp/err" "usage: longctx eval TASK" "eval without a task prints the usage on stderr"
finish options
