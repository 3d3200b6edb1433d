#!/usr/bin/env bash
# Arachne as users install it: `cmake --install` into a fresh prefix puts the
# public headers, the libraries, the binary and the CMake package there; an
# app outside the tree (apps/examples/hello with its own CMakeLists.txt) is
# configured with find_package(Arachne), built, and crawls the demo site
# served by the installed binary; `cpack -G DEB` makes arachne_<version>_<arch>.deb
# with the same files under /usr and Depends that apt can satisfy.
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
. "$src/tests/cli/checks.sh"
. "$src/scripts/lib/site.sh"

prefix=$work/prefix
check "cmake --install into an empty prefix succeeds" \
  cmake --install "$build" --prefix "$prefix" >"$work/install.out" 2>&1 || cat "$work/install.out" >&2
bin=$prefix/bin/arachne
check "... installs the arachne binary" [ -x "$bin" ]
check "... and the CMake package with its version file and FindCAF" \
  test -f "$prefix/lib/cmake/Arachne/ArachneConfig.cmake" \
  -a -f "$prefix/lib/cmake/Arachne/ArachneConfigVersion.cmake" \
  -a -f "$prefix/lib/cmake/Arachne/FindCAF.cmake"
# The public headers are exactly the framework's and the actors' include/
# folders: nothing private (frontier, coordinator, state store) leaks.
(cd "$src/framework/include" && find arachne -name '*.hpp'; cd "$src/actors/include" && find arachne -name '*.hpp') |
  sort >"$work/public.txt"
(cd "$prefix/include" && find . -type f | sed 's|^\./||') | sort >"$work/installed.txt"
check "... and exactly the public headers" cmp "$work/public.txt" "$work/installed.txt"
check "... and the libraries" [ -f "$prefix/lib/libarachne_framework.a" -a -f "$prefix/lib/libarachne_actors.a" ]

# An app outside the tree: only find_package(Arachne) and Arachne::arachne.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
check "an out-of-tree app configures with find_package(Arachne)" \
  cmake -S "$src/apps/examples/hello" -B "$work/app" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$work/configure.out" 2>&1 || cat "$work/configure.out" >&2
check "... and builds against the installed package" \
  cmake --build "$work/app" -j 2 >"$work/app-build.out" 2>&1 || cat "$work/app-build.out" >&2
# (The build tree is not used: no include path or library of it is named.)
check "... naming nothing of the build tree" \
  [ "$(grep -c -- "$(cd "$build" && pwd)" "$work/app/CMakeCache.txt" "$work/app/build.ninja" \
        "$work/app/Makefile" 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }')" -eq 0 ]

start_site "$bin" "$work" --hosts=3 --pages=20 --trap=false --crawl-delay=0 --truth-out="$work/truth.tsv" || exit 1
for _ in $(seq 100); do [ -s "$work/truth.tsv" ] && break; sleep 0.05; done
(cd "$work" && timeout 120 "$work/app/hello" --per-host-delay=0 "http://127.0.1.1:$site_port/" >"$work/hello.txt" 2>&1)
check "the out-of-tree app crawls the demo site served by the installed binary" [ $? -eq 0 ] || cat "$work/hello.txt" >&2
cut -f1 "$work/truth.tsv" | sort >"$work/truth.txt"
jq -r 'select(.kind != "item") | .url' "$work/pages.jsonl" 2>/dev/null | sort >"$work/pages.txt"
check "... recording every URL of the site" cmp "$work/truth.txt" "$work/pages.txt"
check "... with an item (its title) per page fetched" \
  [ "$(jq -r 'select(.kind == "item") | .url' "$work/pages.jsonl" | sort | uniq | wc -l)" \
    -eq "$(jq -r 'select(.kind == "page" and .status == 200) | .url' "$work/pages.jsonl" | wc -l)" ]
stop_site

# The Debian package.
check "cpack -G DEB builds the package" \
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.out" 2>&1 || cat "$work/cpack.out" >&2
deb=$(find "$work/pkg" -maxdepth 1 -name 'arachne_*.deb' | head -1)
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
check "... named arachne_<version>_<arch>.deb" \
  [ "$(basename "${deb:-none}")" = "arachne_${version}_$(dpkg --print-architecture).deb" ]
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./||' >"$work/deb.txt"
for f in usr/bin/arachne usr/include/arachne/arachne.hpp usr/include/arachne/crawl.hpp \
  usr/lib/libarachne_framework.a usr/lib/libarachne_actors.a usr/lib/libarachne_state.a \
  usr/lib/cmake/Arachne/ArachneConfig.cmake usr/lib/cmake/Arachne/ArachneConfigVersion.cmake \
  usr/lib/cmake/Arachne/ArachneTargets.cmake usr/lib/cmake/Arachne/FindCAF.cmake; do
  check "... holding $f" grep -qx "$f" "$work/deb.txt"
done
check "... and no private header" [ "$(grep -c '^usr/include/.*\.hpp$' "$work/deb.txt")" -eq "$(wc -l <"$work/public.txt")" ]
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# The binary's own libraries (dpkg-shlibdeps) and the -dev packages apps link.
for p in libc6 libcaf-core0.17 libssl3 libcaf-dev libboost1.81-dev libssl-dev libc-ares-dev; do
  check "... depending on $p" grep -qE "(^|, )$p( |,|$)" <<<"$depends"
done
check "... whose Depends apt can satisfy from Debian's packages" \
  apt-get install --simulate --no-install-recommends "$deb" >"$work/apt.out" 2>&1 || cat "$work/apt.out" >&2

checks_summary
