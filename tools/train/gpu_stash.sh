#!/bin/sh
# The device tool sends the whole work tree (at most 64 MiB with what it carries); the shipped models
# (models/zoo, 84 MB) and the recipe's results (tools/train/results, 29 MB) alone exceed it. Move them out of
# the tree before the calls of gpu_train.sh and back right after (nothing may be committed in between):
#   sh tools/train/gpu_stash.sh out    # -> ~/.cache/sotto-stash/
#   sh tools/train/gpu_stash.sh in
set -eu
cd "$(dirname "$0")/../.."
S=${SOTTO_STASH:-$HOME/.cache/sotto-stash}
case "${1:-}" in
out)
    [ -e "$S/zoo" ] && { echo "$S/zoo exists: run 'in' first"; exit 1; }
    mkdir -p "$S"
    mv models/zoo "$S/zoo"
    mv tools/train/results "$S/results"
    git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1
    ;;
in)
    mv "$S/zoo" models/zoo
    mv "$S/results" tools/train/results
    git status --short | head
    ;;
*)
    echo "usage: $0 out|in"; exit 2 ;;
esac
