#!/usr/bin/env bash
# sync-client.sh copies the TypeScript client's built ESM (clients/js/dist/*.js)
# into console/web/client, which the console imports and the binary embeds.
# With --check it changes nothing and fails when the copy differs (make check).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/clients/js/dist
dst=$root/console/web/client

if [ "${1:-}" = "--check" ]; then
	status=0
	for f in "$src"/*.js; do
		name=$(basename "$f")
		if ! cmp -s "$f" "$dst/$name"; then
			echo "console/web/client/$name differs from clients/js/dist/$name"
			status=1
		fi
	done
	for f in "$dst"/*; do
		name=$(basename "$f")
		if [ ! -f "$src/$name" ] || [ "${name%.js}" = "$name" ]; then
			echo "console/web/client/$name is not in clients/js/dist"
			status=1
		fi
	done
	exit "$status"
fi

mkdir -p "$dst"
rm -f "$dst"/*
cp "$src"/*.js "$dst"/
echo "console/web/client: $(ls "$dst" | wc -l) files copied from clients/js/dist"
