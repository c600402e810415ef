#!/usr/bin/env bash
# Every cargo-fuzz target of fuzz/ (the change hook dialects' parsers, the configuration
# parser, the htpasswd reader, the worker protocol decoder and the log chunker) run for
# SOAK_FUZZ_SECONDS each (default 300), starting from its committed corpus in fuzz/corpus/;
# fails if any target crashes, naming the input it saved under fuzz/artifacts/. What the runs
# add to the corpus stays in a scratch directory: `cargo fuzz cmin` it into fuzz/corpus/ by
# hand when it is worth keeping. SOAK_FUZZ_TARGETS="name ..." runs only those targets.
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz, which is
# installed (`cargo install cargo-fuzz --locked`) when missing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$repo"
seconds="${SOAK_FUZZ_SECONDS:-300}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is missing; install it with: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

if [ -n "${SOAK_FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$SOAK_FUZZ_TARGETS"
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  case "$target" in
    hook_*) dict=(-dict=fuzz/dicts/hooks.dict) ;;
    config) dict=(-dict=fuzz/dicts/config.dict) ;;
    *) dict=() ;;
  esac
  mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
  marker="$scratch/$target.started"
  touch "$marker"
  echo "fuzz: $target for $seconds s"
  # New inputs go to the scratch directory (the first one given); the committed corpus is read only.
  if cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1 "${dict[@]}" >"$scratch/$target.log" 2>&1; then
    grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$scratch/$target.log" || true
  else
    failed+=("$target")
    tail -n 60 "$scratch/$target.log"
    found="$(find "fuzz/artifacts/$target" -type f -newer "$marker")"
    echo "fuzz: $target FAILED; the input is saved in: ${found:-(no artifact; see the log above)}" >&2
    echo "fuzz: reproduce with: cargo +nightly fuzz run $target ${found%%$'\n'*}" >&2
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), $seconds s each, no crash"
