#!/bin/sh
# bridge-assets PREVIOUS CURRENT KEEP [PREVIOUS_IMAGE]
#
# Run by the nginx image's build (RUN --mount from the named context
# "deploykit"): CURRENT holds this release's precompiled assets, PREVIOUS
# the assets directory of the nginx image live before it. Each image keeps
# one list per release in .releases/N (N counts up); this script records
# this release's list, then copies in the files of the KEEP newest earlier
# releases, so pages rendered by old and new unicorns both find their
# digested assets during a rolling deploy and after a rollback.
set -eu
previous=$1 current=$2 keep=$3 from=${4:-none}
cd "$current"
mkdir -p .releases
last=$(ls "$previous/.releases" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
seq=$(( ${last:-0} + 1 ))
find . -type f ! -path './.releases/*' | sed 's|^\./||' | sort > ".releases/$seq"
kept=0
for r in $(ls "$previous/.releases" 2>/dev/null | grep -E '^[0-9]+$' | sort -rn | head -n "$keep"); do
  cp "$previous/.releases/$r" ".releases/$r"
  while IFS= read -r f; do
    if [ ! -e "$f" ] && [ -e "$previous/$f" ]; then
      mkdir -p "$(dirname "$f")"
      cp -p "$previous/$f" "$f"
    fi
  done < ".releases/$r"
  kept=$((kept + 1))
done
echo "bridge-assets: release $seq, $(wc -l < ".releases/$seq") files; kept the assets of $kept earlier release(s) from $from"
