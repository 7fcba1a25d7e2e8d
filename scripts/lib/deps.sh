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
  local dest=.deps/systemd-resolved deb
  [ -x "$dest/lib/systemd/systemd-resolved" ] && [ -x "$dest/usr/bin/resolvectl" ] && return 0
  mkdir -p .deps/download
  rm -f .deps/download/systemd-resolved_*.deb
  # apt-get download runs as _apt where it can: let it write there.
  chmod 0777 .deps/download
  (cd .deps/download && apt-get download -q systemd-resolved >/dev/null 2>&1) ||
    { [ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null && (cd .deps/download && apt-get download -q systemd-resolved >/dev/null 2>&1); } ||
    { echo "cannot download the systemd-resolved package (apt-get download systemd-resolved)" >&2; return 1; }
  deb=$(ls .deps/download/systemd-resolved_*.deb)
  rm -rf "$dest" && mkdir -p "$dest" && dpkg-deb -x "$deb" "$dest" ||
    { echo "cannot unpack $deb into $dest" >&2; return 1; }
}
