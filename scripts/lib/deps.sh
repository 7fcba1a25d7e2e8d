# Installs, with apt, the Debian 12 packages this project needs that are missing.
# Sourced by scripts/test and scripts/demo. Idempotent; quiet when nothing is missing.

ZTNA_APT_PACKAGES=(
  # build
  cmake g++ make pkg-config clang libclang-rt-14-dev
  # libraries
  libsodium-dev libb2-dev libssl-dev doctest-dev
  # the controller's store and HTTPS (SQLite, cpp-httplib); Qt for the tray (a later issue)
  libsqlite3-dev qt6-base-dev libcpp-httplib-dev
  # the real peers and the tools tests use
  wireguard-go wireguard-tools iproute2 iputils-ping iperf3 netcat-openbsd procps kmod python3 curl nftables openssl
  # split DNS test: a private system bus, and the library systemd-resolved links to
  dbus-daemon libsystemd-shared
  # the systemd unit test (systemd-analyze)
  systemd
)

ztna_install_deps() {
  local missing=() p
  # Node.js and npm run the demo's identity provider (oidc-provider, pinned by
  # scripts/lib/idp/package-lock.json); machines that already have them keep theirs.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  for p in "${ZTNA_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}; run as root (or: sudo apt-get install -y --no-install-recommends ${missing[*]})" >&2
    return 1
  fi
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; return 1; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "apt-get install failed for: ${missing[*]}" >&2; return 1; }
}


# systemd-resolved for the split DNS test, unpacked (not installed) into
# .deps/systemd-resolved: installing the package would take over this
# machine's /etc/resolv.conf. The test runs it in namespaces of its own.
ztna_unpack_resolved() {
  local dest=.deps/systemd-resolved dl=.deps/download deb want err
  # The version of the libsystemd-shared it links to, when that one can be had.
  want=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true)
  if [ -x "$dest/lib/systemd/systemd-resolved" ] && [ -x "$dest/usr/bin/resolvectl" ] &&
     [ "$(cat "$dest/.version" 2>/dev/null)" = "${want:-any}" ]; then return 0; fi
  mkdir -p "$dl" && rm -f "$dl"/systemd-resolved_*.deb
  # apt-get download works as _apt where _apt may write (otherwise as root, with a warning).
  if id _apt >/dev/null 2>&1; then chown _apt "$dl" 2>/dev/null || true; fi
  fetch() { (cd "$dl" && apt-get download -q "systemd-resolved${1:+=$1}" 2>&1 >/dev/null); }
  if ! err=$( { [ -n "$want" ] && fetch "$want"; } || fetch ""); then
    if [ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null 2>&1; then
      err=$( { [ -n "$want" ] && fetch "$want"; } || fetch "") || true
    fi
  fi
  deb=$(ls "$dl"/systemd-resolved_*.deb 2>/dev/null | head -1)
  if [ -z "$deb" ]; then
    echo "cannot download the systemd-resolved package: ${err:-no .deb}" >&2
    echo "  run as root with Debian's apt sources reachable (apt-get update; apt-get download systemd-resolved)" >&2
    return 1
  fi
  rm -rf "$dest" && mkdir -p "$dest" && dpkg-deb -x "$deb" "$dest" ||
    { echo "cannot unpack $deb into $dest (dpkg-deb -x): is the disk full?" >&2; return 1; }
  echo "${want:-any}" >"$dest/.version"
}
