#!/usr/bin/env bash
# Seeds the fuzz corpora with real inputs, so that libFuzzer starts from
# well-formed bundles, entries, checkpoints and proofs and mutates from there:
# a demo log (trail demo), two signed checkpoints, an inclusion proof and a
# consistency proof. Usage: fuzz/seed.sh [path to a built trail binary].
set -euo pipefail
cd "$(dirname "$0")"
trail=${1:-../target/debug/trail}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$trail" demo --dir "$work/demo" >/dev/null
log=$work/demo/log
admin=$work/demo/keys/admin.key
"$trail" keygen --unencrypted --out "$work/op.key" >"$work/op.pub"
"$trail" grant --log "$log" --key "$admin" --actor operator --body "Log operator" \
  --public-key "$(cat "$work/op.pub")" --role operator >/dev/null
"$trail" checkpoint --log "$log" --key "$work/op.key" --out "$work/cp1" >/dev/null
"$trail" keygen --unencrypted --out "$work/w.key" >"$work/w.pub"
"$trail" grant --log "$log" --key "$admin" --actor witness --body "A witness" \
  --public-key "$(cat "$work/w.pub")" --role witness >/dev/null
"$trail" checkpoint --log "$log" --key "$work/op.key" --out "$work/cp2" >/dev/null
"$trail" prove inclusion --log "$log" --seq 3 --checkpoint "$work/cp2" \
  --out "$work/inclusion" --entry-out "$work/entry3" >/dev/null
"$trail" prove consistency --log "$log" --from "$work/cp1" --to "$work/cp2" \
  --out "$work/consistency" >/dev/null

mkdir -p corpus/bundle corpus/entry corpus/proof
cp "$work/demo/demo.trail" corpus/bundle/demo
cp "$work/entry3" corpus/entry/entry3
# Every entry of the bundle (records: tag u8, length u32 LE, payload; tag 1 = entry).
python3 - "$work/demo/demo.trail" corpus/entry <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()[10:]
n = 0
while len(data) >= 5:
    tag, size = data[0], struct.unpack("<I", data[1:5])[0]
    if tag == 1:
        open(f"{sys.argv[2]}/demo-{n}", "wb").write(data[5:5 + size])
        n += 1
    data = data[5 + size:]
PY
# The proof target's first byte chooses the parser (see fuzz_targets/proof.rs).
for pair in "0 cp1" "2 cp2" "3 inclusion" "4 consistency"; do
  set -- $pair
  { printf "\\x0$1"; cat "$work/$2"; } >"corpus/proof/$2"
done
{ printf '\x01'; sed '/^$/q' "$work/cp1"; } >corpus/proof/checkpoint-body
echo "seeded: $(ls corpus/bundle | wc -l) bundle, $(ls corpus/entry | wc -l) entry, $(ls corpus/proof | wc -l) proof inputs"
