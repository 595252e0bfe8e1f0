#!/usr/bin/env bash
# check.sh fails on drift: unformatted Go files, go vet findings, go.mod or
# go.sum that `go mod tidy` would change, registry URLs ("resolved") in
# test/js/package-lock.json and clients/js/package-lock.json, a console
# whose copy of the client differs from clients/js/dist, and alert
# rules promtool rejects. It modifies no
# file.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
status=0

# Go files of the repository, minus node_modules (gofmt -l . would walk it).
go_files() {
	find . \( -name .git -o -name node_modules \) -prune -o -type f -name '*.go' -print
}

echo "check: gofmt"
unformatted=$(go_files | xargs -r gofmt -l)
if [ -n "$unformatted" ]; then
	echo "check: these files need gofmt (run make fmt):"
	printf '  %s\n' $unformatted
	status=1
fi

echo "check: go vet ./..."
if ! "$GO" vet ./...; then
	echo "check: go vet failed"
	status=1
fi

# go mod tidy -diff prints the change tidy would make and exits non-zero,
# without touching go.mod/go.sum, so a check running beside an editor (or a
# check that is interrupted) can never clobber or leave modified files.
echo "check: go mod tidy -diff"
if ! "$GO" mod tidy -diff; then
	echo "check: go mod tidy would change go.mod/go.sum (diff above, or its error): run go mod tidy and commit"
	status=1
fi

for lock in test/js/package-lock.json clients/js/package-lock.json; do
	echo "check: $lock"
	if grep -q '"resolved"' "$lock"; then
		echo "check: $lock contains \"resolved\" registry URLs: remove them (the .npmrc beside it sets omit-lockfile-registry-resolved)"
		status=1
	fi
done

# The console embeds a copy of the TypeScript client's built ESM
# (console/web/client = clients/js/dist/*.js): it must be the current one.
echo "check: console/web/client matches clients/js/dist"
if ! ./console/sync-client.sh --check; then
	echo "check: console/web/client is stale: run make console and commit it"
	status=1
fi

# The alert rules users load must parse and fire as documented.
echo "check: docs/alerts.yaml (promtool)"
if command -v promtool >/dev/null 2>&1; then
	if ! promtool check rules docs/alerts.yaml || ! (cd docs && promtool test rules alerts_test.yaml); then
		echo "check: docs/alerts.yaml failed promtool"
		status=1
	fi
elif [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; then
	echo "check: promtool is missing (make deps installs it) and CI is set"
	status=1
else
	echo "check: promtool not installed (run make deps); alert rules not checked"
fi

if [ "$status" -ne 0 ]; then
	echo "check: FAILED"
	exit "$status"
fi
echo "check: ok"
