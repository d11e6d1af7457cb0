#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: lint, docs, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
# The headless build for servers (no window, no offscreen drawing, no audio devices) compiles.
cargo clippy --no-default-features --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
# Rendering tests use Mesa's software Vulkan driver when there is no GPU.
cargo test --all-targets
