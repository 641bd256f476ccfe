#!/usr/bin/env bash
# convert --random: qwen2 models (--arch qwen2) carry q/k/v biases, NEOX RoPE and qwen2.* keys; a
# re-typed copy keeps them; the llama3-1B / qwen2.5-0.5B presets' keys and Llama-3 RoPE factors, read
# back by an independent GGUF reader written here and checked against Meta's published formula
# (the big presets are written with --layers 1 --vocab 256 to stay small); vocabulary-less files say
# tokenizer.ggml.model = "none". When llama.cpp's llama-bench is built (../shared/peers), it must load
# the small qwen2 and llama3 files. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cli" convert --random "$tmp/q.gguf" --arch qwen2 --dim 64 --hidden 96 --layers 2 --heads 4 --kv-heads 2 \
  --vocab 128 --type f16 > /dev/null
"$cli" convert "$tmp/q.gguf" "$tmp/q8.gguf" --type q8_0 > /dev/null
"$cli" convert --random --preset llama3-1B --layers 1 --vocab 256 "$tmp/l3.gguf" --type f16 > /dev/null
"$cli" convert --random --preset qwen2.5-0.5B --layers 1 --vocab 256 "$tmp/q25.gguf" --type q8_0 > /dev/null
"$cli" info "$tmp/q8.gguf" > "$tmp/q8.info"
grep -q "qkv bias" "$tmp/q8.info" || { echo "re-typed qwen2 lost its family"; exit 1; }
"$cli" bench model -m "$tmp/q8.gguf" --ctx 8 -n 2 --no-peak > /dev/null
python3 - "$tmp" <<'PY'
import math, struct, sys
t = sys.argv[1]

def read_gguf(path):
    b = open(path, "rb").read()
    assert b[:4] == b"GGUF" and struct.unpack_from("<I", b, 4)[0] == 3
    n_t, n_kv = struct.unpack_from("<QQ", b, 8)
    o = 24
    def s():
        nonlocal o
        n = struct.unpack_from("<Q", b, o)[0]; o += 8
        v = b[o:o + n].decode(); o += n
        return v
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def val(ty):
        nonlocal o
        if ty == 8: return s()
        if ty == 9:
            et, n = struct.unpack_from("<IQ", b, o); o += 12
            return [val(et) for _ in range(n)]
        f = "<" + sizes[ty]; v = struct.unpack_from(f, b, o)[0]; o += struct.calcsize(f)
        return v
    kv = {}
    for _ in range(n_kv):
        k = s(); ty = struct.unpack_from("<I", b, o)[0]; o += 4; kv[k] = val(ty)
    ts = {}
    for _ in range(n_t):
        name = s(); nd = struct.unpack_from("<I", b, o)[0]; o += 4
        dims = struct.unpack_from("<%dQ" % nd, b, o); o += 8 * nd
        ty, off = struct.unpack_from("<IQ", b, o); o += 12
        ts[name] = (dims, ty, off)
    align = kv.get("general.alignment", 32)
    base = (o + align - 1) // align * align
    return kv, ts, b, base

for f, types in (("q.gguf", {1}), ("q8.gguf", {8})):
    kv, ts, b, base = read_gguf(f"{t}/{f}")
    assert kv["general.architecture"] == "qwen2" and kv["tokenizer.ggml.model"] == "none", f
    assert kv["qwen2.block_count"] == 2 and kv["qwen2.attention.head_count_kv"] == 2, kv
    assert not any(k.startswith("llama.") for k in kv), f
    for l in range(2):
        for n, dim in (("q", 64), ("k", 32), ("v", 32)):
            dims, ty, off = ts[f"blk.{l}.attn_{n}.bias"]
            assert dims == (dim,) and ty == 0, (f, n, dims, ty)
            v = struct.unpack_from("<%df" % dim, b, base + off)
            sd = math.sqrt(sum(x * x for x in v) / dim)
            assert 0.005 < sd < 0.06 and len(set(v)) == dim, (f, n, sd)  # random N(0, 0.02), not ones
        assert ts[f"blk.{l}.attn_q.weight"][1] in types
# the re-typed copy keeps the biases bit for bit
a = read_gguf(f"{t}/q.gguf"); c = read_gguf(f"{t}/q8.gguf")
for l in range(2):
    for n in "qkv":
        name = f"blk.{l}.attn_{n}.bias"
        da, dc = a[1][name], c[1][name]
        nb = 4 * da[0][0]
        assert a[2][a[3] + da[2]:a[3] + da[2] + nb] == c[2][c[3] + dc[2]:c[3] + dc[2] + nb], name

kv, ts, b, base = read_gguf(f"{t}/l3.gguf")
assert kv["general.architecture"] == "llama" and kv["llama.embedding_length"] == 2048
assert kv["llama.feed_forward_length"] == 8192 and kv["llama.attention.head_count"] == 32
assert kv["llama.attention.head_count_kv"] == 8 and kv["llama.rope.freq_base"] == 500000.0
assert kv["llama.context_length"] == 131072 and "output.weight" not in ts  # tied as Llama-3.2-1B
dims, ty, off = ts["rope_freqs.weight"]
assert dims == (32,) and ty == 0
got = struct.unpack_from("<32f", b, base + off)
# Meta's llama3 rope scaling (factor 32, low 1, high 4, original 8192), head dim 64, base 500000
for i in range(32):
    freq = 1.0 / 500000.0 ** (2 * i / 64)
    wl = 2 * math.pi / freq
    if wl < 8192 / 4: new = freq
    elif wl > 8192 / 1: new = freq / 32
    else:
        sm = (8192 / wl - 1) / (4 - 1)
        new = (1 - sm) * freq / 32 + sm * freq
    assert abs(got[i] - freq / new) <= 1e-5 * (freq / new), (i, got[i], freq / new)
assert got[0] == 1.0 and got[31] == 32.0

kv, ts, b, base = read_gguf(f"{t}/q25.gguf")
assert kv["general.architecture"] == "qwen2" and kv["qwen2.embedding_length"] == 896
assert kv["qwen2.feed_forward_length"] == 4864 and kv["qwen2.attention.head_count"] == 14
assert kv["qwen2.attention.head_count_kv"] == 2 and kv["qwen2.rope.freq_base"] == 1e6
assert abs(kv["qwen2.attention.layer_norm_rms_epsilon"] - 1e-6) < 1e-12
assert ts["blk.0.attn_q.bias"][0] == (896,) and ts["blk.0.attn_k.bias"][0] == (128,)
assert ts["blk.0.attn_q.weight"][1] == 8 and "output.weight" not in ts
PY
set +e
"$cli" convert --random "$tmp/x.gguf" --arch gemma2 --dim 64 --hidden 96 --layers 1 --heads 4 --vocab 64 \
  > /dev/null 2>&1; [ $? -eq 2 ] || { echo "--arch gemma2 accepted"; exit 1; }
set -e
lb=${LLAMA_BENCH:-$HOME/.cache/longctx-peers/llama.cpp/build/bin/llama-bench}
if [ -x "$lb" ]; then
  for f in q.gguf q8.gguf l3.gguf q25.gguf; do
    "$lb" -m "$tmp/$f" -p 8 -n 0 -r 1 -t 1 -o json > "$tmp/lb.json" 2> "$tmp/lb.err" || { cat "$tmp/lb.err"; echo "llama.cpp refused $f"; exit 1; }
  done
else
  echo "llama-bench not built: llama.cpp loading not checked"
fi
echo "convert presets cli: ok"
