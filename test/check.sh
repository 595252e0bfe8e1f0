#!/usr/bin/env bash
# check.sh fails on drift: unformatted Go files, go vet findings, go.mod or
# go.sum that `go mod tidy` would change, and registry URLs ("resolved") in
# test/js/package-lock.json. It modifies no file.
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

echo "check: test/js/package-lock.json"
if grep -q '"resolved"' test/js/package-lock.json; then
	echo "check: test/js/package-lock.json contains \"resolved\" registry URLs: remove them (test/js/.npmrc sets omit-lockfile-registry-resolved)"
	status=1
fi

if [ "$status" -ne 0 ]; then
	echo "check: FAILED"
	exit "$status"
fi
echo "check: ok"
