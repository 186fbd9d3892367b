#!/bin/sh
# Installs the Parachute hub: one binary, started and kept running by this
# machine's service manager (systemd or launchd).
#
#   curl -fsSL https://github.com/openparachute/parachute-hub/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- -y      (no questions: upgrade a running hub)
#
# Knobs (environment variables):
#   PARACHUTE_VERSION       a release such as 0.2.0 (default: the latest)
#   PARACHUTE_RELEASE_URL   the folder holding the release assets and SHA256SUMS
#   PARACHUTE_BINARY        a parachute binary on this machine: skips the download
#   PARACHUTE_INSTALL_DIR   where the binary goes (default /usr/local/bin as root,
#                           ~/.local/bin otherwise)
#   PARACHUTE_HOME          the hub's state folder (default /var/lib/parachute as
#                           root, ~/.parachute otherwise)
#   PARACHUTE_NO_SERVICE=1  install the binary only, no service
#   PORT                    the hub's port (default 1939)
#
# Safe under `curl | sh`: everything is inside one function called on the
# last line, so a download cut off mid-way runs nothing; stdin (the script
# itself) is never read; questions go to /dev/tty and, when there is none,
# the script stops and prints the command to re-run with -y.

parachute_install() {
  set -eu

  default_release='https://github.com/openparachute/parachute-hub/releases'
  health_timeout=60

  say() { printf '%s\n' "$*"; }
  err() { printf 'install.sh: %s\n' "$*" >&2; }
  die() {
    err "$*"
    exit 1
  }
  have() { command -v "$1" >/dev/null 2>&1; }

  usage() {
    say 'usage: curl -fsSL <release>/install.sh | sh -s -- [-y]'
    say '  -y, --yes   upgrade and restart a running hub without asking'
    say 'Knobs are environment variables: PARACHUTE_VERSION, PARACHUTE_RELEASE_URL,'
    say 'PARACHUTE_BINARY, PARACHUTE_INSTALL_DIR, PARACHUTE_HOME, PARACHUTE_NO_SERVICE, PORT.'
  }

  # The release asset for this machine: parachute-<os>-<arch>[-musl][-baseline].
  detect_asset() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$os" in
      Linux) os=linux ;;
      Darwin) os=darwin ;;
      *) die "$os is not supported (Linux and macOS are)" ;;
    esac
    case "$arch" in
      x86_64 | amd64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) die "the $arch processor is not supported (x86_64 and arm64 are)" ;;
    esac
    libc=''
    if [ "$os" = linux ] && is_musl; then libc='-musl'; fi
    # An x64 shell on Apple silicon runs under Rosetta: the arm64 build runs natively.
    if [ "$os" = darwin ] && [ "$arch" = x64 ] &&
      [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
      arch=arm64
    fi
    cpu=''
    # The default x64 build needs AVX2; older processors get the baseline build.
    if [ "$arch" = x64 ] && ! has_avx2 "$os"; then cpu='-baseline'; fi
    if [ "$os" = darwin ]; then libc=''; fi
    asset="parachute-$os-$arch$libc$cpu"
  }

  is_musl() {
    if ldd --version 2>&1 | grep -qi musl; then return 0; fi
    for loader in /lib/ld-musl-*; do
      [ -e "$loader" ] && return 0
    done
    return 1
  }

  has_avx2() {
    if [ "$1" = linux ]; then
      grep -qiw avx2 /proc/cpuinfo 2>/dev/null
    else
      sysctl -n machdep.cpu.leaf7_features 2>/dev/null | grep -qiw avx2
    fi
  }

  # Where the assets are: PARACHUTE_RELEASE_URL, else the project's releases.
  release_url() {
    if [ -n "${PARACHUTE_RELEASE_URL:-}" ]; then
      printf '%s' "${PARACHUTE_RELEASE_URL%/}"
    elif [ -n "${PARACHUTE_VERSION:-}" ]; then
      printf '%s/download/v%s' "$default_release" "${PARACHUTE_VERSION#v}"
    else
      printf '%s/latest/download' "$default_release"
    fi
  }

  fetch() { # url file
    if have curl; then
      curl -fsSL --retry 3 -o "$2" "$1"
    elif have wget; then
      wget -q -O "$2" "$1"
    else
      die 'neither curl nor wget is installed: install one and run this again'
    fi
  }

  sha256() {
    if have sha256sum; then
      sha256sum "$1" | cut -d ' ' -f 1
    elif have shasum; then
      shasum -a 256 "$1" | cut -d ' ' -f 1
    else
      die 'neither sha256sum nor shasum is installed: cannot verify the download'
    fi
  }

  # Downloads the asset and SHA256SUMS into $tmp and checks one against the other.
  download() {
    base=$(release_url)
    say "Downloading $asset from $base"
    fetch "$base/$asset" "$tmp/parachute" ||
      die "could not download $base/$asset (is PARACHUTE_VERSION a published release?)"
    fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base/SHA256SUMS"
    expected=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$tmp/SHA256SUMS")
    [ -n "$expected" ] || die "SHA256SUMS at $base lists no $asset: nothing was installed"
    actual=$(sha256 "$tmp/parachute")
    if [ "$actual" != "$expected" ]; then
      die "checksum mismatch for $asset (expected $expected, got $actual): the download is corrupt or was tampered with; nothing was installed"
    fi
  }

  # True when /dev/tty opens: there is a person to ask. In a subshell, because
  # a failed redirection on a special builtin would end the whole script.
  can_ask() { (true </dev/tty) 2>/dev/null; }

  # Asks a yes/no question on the terminal, or stops with the -y command to re-run.
  confirm() {
    if [ "$yes" = 1 ]; then return 0; fi
    if ! can_ask; then
      err "$1"
      err 'No terminal to ask on. To go ahead, run:'
      err "  curl -fsSL $(release_url)/install.sh | sh -s -- -y"
      exit 1
    fi
    printf '%s [y/N] ' "$1" >/dev/tty
    read -r answer </dev/tty || answer=''
    case "$answer" in
      y | Y | yes | YES) return 0 ;;
      *) die 'stopped; nothing was changed' ;;
    esac
  }

  # True when the hub's service is up (so replacing the binary means a restart).
  service_active() {
    if [ "$(uname -s)" = Darwin ]; then
      launchctl print "gui/$(id -u)/computer.parachute.hub" >/dev/null 2>&1
    elif [ "$(id -u)" = 0 ]; then
      systemctl is-active --quiet parachute 2>/dev/null
    else
      systemctl --user is-active --quiet parachute 2>/dev/null
    fi
  }

  # Polls the hub's /health on loopback until it answers, for $health_timeout seconds.
  wait_health() {
    url="http://127.0.0.1:$1/health"
    i=0
    while [ "$i" -lt "$health_timeout" ]; do
      if have curl; then
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
      else
        wget -q -O /dev/null -T 2 "$url" 2>/dev/null && return 0
      fi
      sleep 1
      i=$((i + 1))
    done
    return 1
  }

  logs_command() {
    if [ "$(uname -s)" = Darwin ]; then
      printf 'tail -n 50 %s/logs/hub.log' "$home"
    elif [ "$(id -u)" = 0 ]; then
      printf 'journalctl -u parachute -n 50'
    else
      printf 'journalctl --user -u parachute -n 50'
    fi
  }

  yes=0
  for arg in "$@"; do
    case "$arg" in
      -y | --yes) yes=1 ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        usage >&2
        err "unknown argument: $arg"
        exit 2
        ;;
    esac
  done

  if [ "$(id -u)" = 0 ]; then
    dir=${PARACHUTE_INSTALL_DIR:-/usr/local/bin}
    home=${PARACHUTE_HOME:-/var/lib/parachute}
  else
    [ -n "${HOME:-}" ] || die 'HOME is not set'
    dir=${PARACHUTE_INSTALL_DIR:-$HOME/.local/bin}
    home=${PARACHUTE_HOME:-$HOME/.parachute}
  fi
  no_service=0
  case "${PARACHUTE_NO_SERVICE:-}" in
    '' | 0) ;;
    *) no_service=1 ;;
  esac
  port=${PORT:-1939}
  case "$port" in
    '' | *[!0-9]*) die "PORT must be a number, not '$port'" ;;
  esac
  bin="$dir/parachute"

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/parachute-install.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'rm -rf "$tmp"; exit 130' INT TERM

  if [ -n "${PARACHUTE_BINARY:-}" ]; then
    [ -f "$PARACHUTE_BINARY" ] || die "PARACHUTE_BINARY=$PARACHUTE_BINARY is not a file"
    cp "$PARACHUTE_BINARY" "$tmp/parachute"
  else
    detect_asset
    download
  fi
  chmod 755 "$tmp/parachute"
  version=$("$tmp/parachute" --version </dev/null 2>&1) ||
    die "this parachute binary does not run on this machine: $version"

  changed=1
  upgrade=0
  if [ -f "$bin" ] && cmp -s "$tmp/parachute" "$bin"; then
    changed=0
  elif [ -f "$bin" ]; then
    upgrade=1
    if [ "$no_service" = 0 ] && service_active; then
      confirm "Replace $("$bin" --version </dev/null 2>/dev/null || echo 'the installed parachute') with $version and restart the running hub (its modules restart too)?"
    fi
  fi

  if [ "$changed" = 1 ]; then
    mkdir -p "$dir" || die "cannot create $dir (set PARACHUTE_INSTALL_DIR to a folder you can write)"
    # Written beside the target, then renamed over it: a running hub keeps its
    # old file, and nobody ever runs a half-written binary.
    cp "$tmp/parachute" "$dir/.parachute.new.$$" || die "cannot write to $dir"
    chmod 755 "$dir/.parachute.new.$$"
    mv -f "$dir/.parachute.new.$$" "$bin"
    if [ "$upgrade" = 1 ]; then say "Upgraded $bin to $version"; else say "Installed $version at $bin"; fi
  else
    say "$bin is already $version"
  fi
  case ":${PATH:-}:" in
    *":$dir:"*) ;;
    *) say "Note: $dir is not on your PATH; add it (export PATH=\"$dir:\$PATH\") or run $bin" ;;
  esac

  if [ "$no_service" = 1 ]; then
    if [ "$upgrade" = 1 ] && service_active; then
      say 'The running hub still runs the old version until you run: parachute restart'
    fi
    say "No service installed (PARACHUTE_NO_SERVICE). Start the hub with: $bin init"
    return 0
  fi

  # The binary renders and installs its own unit (systemd or launchd) and
  # starts it. Port and home are passed only when asked for: otherwise the
  # installed unit keeps its own (a re-run without PORT must not move the hub).
  set -- unit install
  if [ -n "${PORT:-}" ]; then set -- "$@" --port "$port"; fi
  if [ -n "${PARACHUTE_HOME:-}" ]; then set -- "$@" --home "$home"; fi
  if [ "$upgrade" = 1 ]; then set -- "$@" --restart; fi
  unit_said=$("$bin" "$@" </dev/null) ||
    die "'$bin $*' failed (see above). $bin is installed; once that is fixed, run this again."
  say "$unit_said"
  # The port the unit serves on, from its line: "... hub started on http://127.0.0.1:<port>".
  unit_port=$(printf '%s\n' "$unit_said" | sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' | head -n 1)
  port=${unit_port:-$port}

  if ! wait_health "$port"; then
    err "the hub did not answer http://127.0.0.1:$port/health within about ${health_timeout}s. Its log:"
    err "  $(logs_command)"
    exit 1
  fi

  say ''
  say "Parachute hub is running: http://127.0.0.1:$port/admin/"
  if have curl && curl -fsS --max-time 2 "http://127.0.0.1:$port/api/setup" 2>/dev/null |
    grep -q '"setup_required":true'; then
    say 'To claim it, open http://127.0.0.1:'"$port"'/admin/setup and enter the setup token:'
    say "  $bin setup-token"
    if [ "$(uname -s)" = Linux ]; then
      if [ "$(id -u)" = 0 ]; then
        say '  (or: journalctl -u parachute | grep parachute-bootstrap-)'
      else
        say '  (or: journalctl --user -u parachute | grep parachute-bootstrap-)'
      fi
    fi
  fi
  if [ "$(uname -s)" = Linux ]; then
    say "On a remote server, reach it through SSH: ssh -N -L $port:127.0.0.1:$port <you>@<server>"
  fi
}

parachute_install "$@"
