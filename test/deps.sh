#!/usr/bin/env bash
# deps.sh installs what the test suite needs, only where it is missing:
#   - PostgreSQL server binaries (initdb, pg_ctl): internal/pgtest starts a
#     throwaway server from them when ATHENA_TEST_PG_URI is unset;
#   - node and npm, and test/js/node_modules for the JS SDK compatibility test
#     and the browser tests (playwright-core drives the system Chromium; it
#     never downloads a browser), and clients/js/node_modules (typescript and
#     esbuild, to build and size-check the TypeScript client);
#   - Chromium (Debian's chromium package) for the browser WebSocket test;
#   - a JDK, Maven, and the Cassandra server jars (test/cassandra/lib, from
#     test/cassandra/pom.xml): internal/cqltest starts a throwaway Cassandra
#     from them when ATHENA_TEST_CQL_HOSTS is unset;
#   - redis-server: internal/redistest starts a throwaway Redis from it when
#     ATHENA_TEST_REDIS_ADDR is unset;
#   - promtool (Debian's prometheus package): check.sh validates and
#     unit-tests docs/alerts.yaml with it;
#   - moto's standalone S3 server in a virtualenv (test/s3/venv, pinned by
#     test/s3/requirements.txt): internal/s3test starts it when
#     ATHENA_TEST_S3_ENDPOINT is unset;
#   - schemathesis in a virtualenv (test/schemathesis/venv, pinned by
#     test/schemathesis/requirements.txt): test/schemathesis runs it against
#     a real server's /openapi.yaml.
# It is idempotent: a second run changes nothing and says so. System packages
# come from apt (Debian/Ubuntu); elsewhere it names what to install.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# as_root runs a command as root: directly when we are root, else via sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run '$*' (not root, and sudo is not installed)"
	fi
}

apt_updated=0
apt_install() {
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not found: install $* with your system's package manager"
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
	log "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# find_initdb prints the path of an initdb, the same way internal/pgtest looks.
find_initdb() {
	local dir f
	if command -v pg_config >/dev/null 2>&1; then
		dir=$(pg_config --bindir 2>/dev/null || true)
		if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
			echo "$dir/initdb"
			return 0
		fi
	fi
	for f in /usr/lib/postgresql/*/bin/initdb; do
		if [ -x "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1; then
		command -v initdb
		return 0
	fi
	return 1
}

# stop_system_clusters stops and disables the cluster Debian's postgresql
# package creates and may start: the tests run their own throwaway servers,
# and an idle system cluster only holds port 5432 and memory.
stop_system_clusters() {
	local ver name port status rest conf
	if command -v pg_lsclusters >/dev/null 2>&1; then
		while read -r ver name port status rest; do
			[ "$ver" = "Ver" ] && continue
			[ -n "$ver" ] || continue
			if [ "$status" = "online" ]; then
				log "stopping system PostgreSQL cluster $ver/$name (port $port)"
				as_root pg_ctlcluster "$ver" "$name" stop || true
			fi
			conf=/etc/postgresql/$ver/$name/start.conf
			if [ -f "$conf" ] && ! grep -qx 'manual' "$conf"; then
				log "setting $conf to manual so it does not start at boot"
				echo manual | as_root tee "$conf" >/dev/null
			fi
		done < <(pg_lsclusters 2>/dev/null || true)
	fi
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		log "disabling the postgresql service"
		as_root systemctl disable --now postgresql >/dev/null 2>&1 || true
	elif command -v service >/dev/null 2>&1; then
		as_root service postgresql stop >/dev/null 2>&1 || true
	fi
}

ensure_postgres() {
	local initdb
	if initdb=$(find_initdb); then
		log "PostgreSQL server binaries present ($(dirname "$initdb"))"
		return 0
	fi
	log "PostgreSQL server binaries missing: installing"
	apt_install postgresql
	stop_system_clusters
	initdb=$(find_initdb) || die "postgresql installed but no initdb found"
	log "PostgreSQL server binaries installed ($(dirname "$initdb"))"
}

ensure_node() {
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		log "node $(node --version) and npm $(npm --version 2>/dev/null) present"
	else
		log "node or npm missing: installing"
		apt_install nodejs npm
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 18 ] || die "node $(node --version) is too old: the JS SDK test needs node 18 or newer"
}

# ensure_node_modules runs npm ci in a directory (relative to the root:
# test/js, clients/js) when its node_modules is missing or older than
# package.json / package-lock.json. npm ci installs exactly what the
# committed lockfile says and never rewrites it.
ensure_node_modules() {
	local rel=$1
	local dir=$root/$rel
	local stamp=$dir/node_modules/.package-lock.json
	if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] && [ ! "$dir/package.json" -nt "$stamp" ]; then
		log "$rel/node_modules up to date"
		return 0
	fi
	log "npm ci in $rel"
	(cd "$dir" && npm ci --no-audit --no-fund)
}

# ensure_cassandra copies cassandra-all (the version test/cassandra/pom.xml
# names) and its runtime dependencies into test/cassandra/lib through Maven,
# installing a JDK and Maven where missing. It does nothing when the jar of
# that version is already there.
ensure_cassandra() {
	local dir=$root/test/cassandra version
	version=$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$dir/pom.xml")
	[ -n "$version" ] || die "no cassandra.version in $dir/pom.xml"
	if [ -f "$dir/lib/cassandra-all-$version.jar" ]; then
		log "Cassandra $version jars present (test/cassandra/lib)"
		return 0
	fi
	if ! command -v java >/dev/null 2>&1; then
		log "java missing: installing"
		apt_install openjdk-17-jre-headless
	fi
	if ! command -v mvn >/dev/null 2>&1; then
		log "mvn missing: installing"
		apt_install maven
	fi
	log "fetching Cassandra $version and its dependencies with Maven"
	rm -rf "$dir/lib"
	(cd "$dir" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib)
	[ -f "$dir/lib/cassandra-all-$version.jar" ] || die "Maven finished but cassandra-all-$version.jar is missing"
	log "Cassandra $version jars installed ($(find "$dir/lib" -name '*.jar' | wc -l) jars)"
}

# ensure_redis installs redis-server when it is missing. The Debian package
# may start a system service; it is stopped and disabled: the tests run their
# own throwaway servers on free ports.
ensure_redis() {
	if command -v redis-server >/dev/null 2>&1; then
		log "redis-server present ($(redis-server --version | awk '{print $3}'))"
		return 0
	fi
	log "redis-server missing: installing"
	apt_install redis-server
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		log "disabling the redis-server service"
		as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
	elif command -v service >/dev/null 2>&1; then
		as_root service redis-server stop >/dev/null 2>&1 || true
	fi
	command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
	log "redis-server installed ($(redis-server --version | awk '{print $3}'))"
}

# ensure_chromium installs Debian's chromium for test/js/browser.test.mjs.
# CHROMIUM names another binary to use instead.
ensure_chromium() {
	local bin=${CHROMIUM:-/usr/bin/chromium}
	if [ -x "$bin" ]; then
		log "chromium present ($bin)"
		return 0
	fi
	log "chromium missing: installing"
	apt_install chromium
	[ -x "$bin" ] || die "chromium installed but $bin is missing: set CHROMIUM to its path"
}

# ensure_promtool installs Debian's prometheus package for promtool; the
# Prometheus service it may start is stopped and disabled.
ensure_promtool() {
	if command -v promtool >/dev/null 2>&1; then
		log "promtool present"
		return 0
	fi
	log "promtool missing: installing prometheus"
	apt_install prometheus
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
	elif command -v service >/dev/null 2>&1; then
		as_root service prometheus stop >/dev/null 2>&1 || true
	fi
	command -v promtool >/dev/null 2>&1 || die "prometheus installed but promtool is not on PATH"
}

# ensure_venv creates test/$1/venv with the packages test/$1/requirements.txt
# pins, when the venv lacks the program $2 or was built from another
# requirements file (a copy of the one it was built from is kept inside it).
# $3 names what it installs, for the log.
ensure_venv() {
	local rel=test/$1 prog=$2 what=$3
	local dir=$root/$rel
	local venv=$dir/venv
	local stamp=$venv/requirements.txt
	if [ -x "$venv/bin/$prog" ] && cmp -s "$stamp" "$dir/requirements.txt"; then
		log "$what present ($rel/venv)"
		return 0
	fi
	if ! command -v python3 >/dev/null 2>&1; then
		log "python3 missing: installing"
		apt_install python3 python3-venv
	fi
	if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
		log "python3 venv support missing: installing"
		apt_install python3-venv
	fi
	log "creating $rel/venv with $what ($rel/requirements.txt)"
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt"
	[ -x "$venv/bin/$prog" ] || die "$what installed but $rel/venv/bin/$prog is missing"
	cp "$dir/requirements.txt" "$stamp"
	log "$what installed ($rel/venv)"
}

ensure_moto() { ensure_venv s3 moto_server "moto S3 server"; }

ensure_schemathesis() { ensure_venv schemathesis schemathesis schemathesis; }

ensure_postgres
ensure_node
ensure_node_modules test/js
ensure_node_modules clients/js
ensure_cassandra
ensure_redis
ensure_chromium
ensure_promtool
ensure_moto
ensure_schemathesis
log "done"
