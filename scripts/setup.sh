#!/usr/bin/env bash
# Installs the system packages timbrescope needs on Debian/Ubuntu, skipping those present.
# usage: scripts/setup.sh [run|test]
set -euo pipefail
mode=${1:-run}
need=(pkg-config libasound2-dev libstk-dev stk cmake libvulkan1 mesa-vulkan-drivers fluid-soundfont-gm timgm6mb-soundfont libmysofa1)
# The window: X11/Wayland client libraries that winit loads at run time.
run_only=(libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0 libwayland-client0 libwayland-cursor0 libwayland-egl1)
case "$mode" in
  run) need+=("${run_only[@]}") ;;
  test) ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_=sudo
  echo "installing: ${missing[*]}" >&2
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
