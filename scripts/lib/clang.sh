# Sourced by scripts/fuzz and scripts/test-sanitized: installs Clang and its
# sanitizer and libFuzzer runtimes from Debian's packages if they are missing.
need_clang() {
  if command -v clang++ >/dev/null \
      && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "$(basename "$0"): installing clang and libclang-rt-14-dev" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    clang libclang-rt-14-dev >/dev/null
}
