#!/usr/bin/env bash
# Prepares the PHPUnit suite for run.sh: Carbon (nesbot/carbon, 5,600 tests in 1,000 files) from
# Debian's source package, run against Debian's own php-nesbot-carbon with Debian's PHPUnit 9, the
# way Debian's autopkgtest runs it (a phpab class map for tests/, no composer).
#
# Usage: bench/test-peers/setup-php.sh DIR   prints the suite's directory (DIR/php-nesbot-carbon-*)
# Needs root for apt-get when packages are missing; adds a deb-src entry for bookworm
# (/etc/apt/sources.list.d/stepkit-bench-src.sources) only when no deb-src source is configured.
set -euo pipefail

dir=${1:?usage: setup-php.sh DIR}
mkdir -p "$dir"
packages=(php-cli phpunit php-nesbot-carbon php-doctrine-dbal phpab pkg-php-tools
  php-symfony-console php-symfony-process dpkg-dev)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing from Debian: ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >&2
fi

# apt-get source needs a deb-src entry; Debian images usually ship only binary ones.
if ! apt-cache showsrc php-nesbot-carbon 2>/dev/null | grep -q '^Package:'; then
  if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "adding deb-src for bookworm: /etc/apt/sources.list.d/stepkit-bench-src.sources" >&2
    as_root tee /etc/apt/sources.list.d/stepkit-bench-src.sources >/dev/null <<'SRC'
# Added by stepkit's bench/test-peers/setup-php.sh: source packages, for `apt-get source`.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  as_root apt-get update -qq
fi

# The tests must match the installed library: fetch the source of the installed version.
version=$(dpkg-query -W -f='${Version}' php-nesbot-carbon)
upstream=${version%-*}
suite="$dir/php-nesbot-carbon-${upstream#*:}"
if [[ ! -f "$suite/tests/autoload.php" ]]; then
  rm -rf "$suite"
  (cd "$dir" && apt-get source -qq "php-nesbot-carbon=$version" >&2) || {
    echo "apt-get source php-nesbot-carbon=$version failed (is the Debian archive reachable?)" >&2
    exit 1
  }
  [[ -d "$suite/tests" ]] || { echo "no tests/ in $suite after apt-get source" >&2; exit 1; }
  # Debian's own test recipe (debian/tests/phpunit): a class map of tests/ on top of the installed
  # Carbon and Doctrine DBAL autoloaders.
  phpabtpl --require nesbot/carbon --require doctrine/dbal >"$dir/autoload.php.tpl"
  phpab -q -o "$suite/tests/autoload.php" -t "$dir/autoload.php.tpl" \
    --blacklist 'carbon\\cli' \
    --blacklist 'symfony\\component\\translation\\translatorinterface' \
    "$suite/tests" >&2
fi
# phpunit.xml (which PHPUnit prefers to phpunit.xml.dist) = upstream's config with Debian's
# bootstrap (upstream's tests/bootstrap.php wants composer's vendor/autoload.php); its coverage
# <filter> stays as upstream wrote it. Every runner reads this same file, so no runner gets extra
# arguments.
sed -e 's#bootstrap="tests/bootstrap.php"#bootstrap="tests/autoload.php"#' \
  "$suite/phpunit.xml.dist" >"$suite/phpunit.xml"
grep -q 'bootstrap="tests/autoload.php"' "$suite/phpunit.xml" || {
  echo "could not point $suite/phpunit.xml at tests/autoload.php (upstream config changed?)" >&2
  exit 1
}
echo "$suite"
