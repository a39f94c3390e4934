#!/usr/bin/env bash
# screenshot.sh: a real colour PNG of the wamp-monitor dashboard on its live demo, for the
# README (docs/screenshot.png, plus the same screen as text in docs/screenshot.txt).
#
# Usage: scripts/screenshot.sh [--out DIR] [--keys "KEY ..."] [--wait-for TEXT]
#                              [--settle SECONDS] [--timeout SECONDS] [--cell-width PX]
#                              [--html FILE] [--lossless]
#
#   --out DIR         where screenshot.png and screenshot.txt go (default: docs/)
#   --keys "K ..."    tmux key names sent once the dashboard shows data (default:
#                     "Down Enter", which opens the detail pane on the second row;
#                     --keys "" for the plain main screen)
#   --wait-for TEXT   after the keys, wait until the screen shows TEXT (default with the
#                     default keys: "Detail ▸"; otherwise: until the screen has changed)
#   --settle SECONDS  how long the dashboard runs after it first shows data, before the
#                     keys and the capture (default 15; see below)
#   --timeout SECONDS how long to wait for the dashboard to show data (default 60)
#   --cell-width PX   one cell's width in the PNG (default 9: cells of 9x15 px, font size
#                     14.95 px, a PNG of 1460x740 px; 10 gives 10x17 px and 1620x836)
#   --html FILE       also keep the HTML page Chromium renders (to inspect or restyle)
#   --lossless        keep Chromium's RGB PNG (~400 KB) instead of the 256-colour one
#
# Environment: WAMP_MONITOR=/path/to/wamp-monitor (default: target/release/wamp-monitor,
# built with `cargo build --release -p wamp-monitor` if absent), CHROMIUM=/path/to/chromium
# (default: chromium or chromium-browser on PATH; on Debian `apt-get install -y chromium`).
# Also needs tmux, python3 (standard library only) and the DejaVu Sans Mono font
# (fonts-dejavu-core), whose box-drawing and block glyphs the dashboard uses.
#
# What it does:
#   1. starts `wamp-monitor --demo` (a router in-process with load traffic) in a detached
#      tmux session of exactly 160x48 cells, on a private tmux server (-L) with no user
#      config, TERM=xterm-256color, COLORTERM=truecolor;
#   2. polls `tmux capture-pane -p` until the header says "connected" and the session
#      table has rows (bounded by --timeout; fails with the last screen if it never does);
#   3. lets the demo run --settle seconds more: the header's sparklines take one sample per
#      screen refresh (4/s, ~9 s to fill their 34 cells) and the TREND column one per
#      statistics cycle, so a screenshot taken at once would show half-empty graphs —
#      this wait is deliberate, not synchronisation;
#   4. sends --keys and polls until the screen shows --wait-for (or has changed);
#   5. captures with colours (`tmux capture-pane -e -p`), writes the text without the
#      escapes to DIR/screenshot.txt and converts the ANSI to a self-contained HTML page
#      (scripts/ansi_to_html.py: Tango palette on a dark background, DejaVu Sans Mono at
#      the size where a cell is a whole number of pixels, line-height 1 (rounded to a
#      pixel) so that block and box-drawing characters touch);
#   6. renders the page with headless Chromium twice: once (--dump-dom) to measure the
#      grid in CSS pixels after the font has loaded, once (--screenshot) with the window
#      exactly that size, so there is no clipping and no margin beyond the page's own
#      even padding; the PNG is then rewritten with a 256-colour palette
#      (scripts/png_shrink.py), which keeps it well under 400 KB;
#   7. stops the monitor ('q', then SIGTERM/SIGKILL to the tmux pane's PID if it does not
#      exit) and the private tmux server, and removes its temporary directory — also on
#      failure or Ctrl-C (trap).
#
# Not part of the test suite (it needs Chromium and takes ~30 s); run it by hand when the
# dashboard's look changes, and commit docs/screenshot.png and docs/screenshot.txt.

set -euo pipefail

COLS=160
ROWS=48
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

out="$repo/docs"
keys="Down Enter"
keys_default=1
wait_for=""
settle=15
timeout=60
cell_width=9
html_copy=""
lossless=0

die() { echo "screenshot.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --keys) keys=${2?--keys needs a value}; keys_default=0; shift 2 ;;
        --wait-for) wait_for=${2:?--wait-for needs a text}; shift 2 ;;
        --settle) settle=${2:?--settle needs seconds}; shift 2 ;;
        --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
        --cell-width) cell_width=${2:?--cell-width needs pixels}; shift 2 ;;
        --html) html_copy=${2:?--html needs a file}; shift 2 ;;
        --lossless) lossless=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
if [ "$keys_default" = 1 ] && [ -z "$wait_for" ]; then
    wait_for="Detail ▸"
fi

command -v tmux >/dev/null || die "tmux is not installed"
command -v python3 >/dev/null || die "python3 is not installed"
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
    chromium=$(command -v chromium || command -v chromium-browser || true)
fi
[ -n "$chromium" ] || die "Chromium is not installed (Debian: apt-get install -y chromium), or set CHROMIUM"
fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" \
    || echo "screenshot.sh: warning: DejaVu Sans Mono not found (fonts-dejavu-core); the blocks may not line up" >&2

monitor=${WAMP_MONITOR:-}
if [ -z "$monitor" ]; then
    monitor="$repo/target/release/wamp-monitor"
    if [ ! -x "$monitor" ]; then
        echo "screenshot.sh: building $monitor (cargo build --release -p wamp-monitor)" >&2
        (cd "$repo" && cargo build --release -p wamp-monitor) || die "the build failed"
    fi
fi
[ -x "$monitor" ] || die "not an executable: $monitor"
mkdir -p "$out"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wamp-screenshot.XXXXXX")
sock="wamp-screenshot-$$"
session="shot"
tm() { tmux -u -L "$sock" -f "$tmp/tmux.conf" "$@"; }
pane_pid=""
socket=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$pane_pid" ] && kill -0 "$pane_pid" 2>/dev/null; then
        # Quit the dashboard the normal way first (it restores the terminal and stops the
        # demo), then by signal to the pane's process, the monitor itself (exec'd).
        tm send-keys -t "$session" q 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pane_pid" 2>/dev/null || break; sleep 0.1; done
        kill -TERM "$pane_pid" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$pane_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pane_pid" 2>/dev/null || true
    fi
    tm kill-server 2>/dev/null || true
    [ -z "$socket" ] || rm -f "$socket"
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private server with only these options: no status line (all 48 rows are the pane's),
# and a pane that stays when the monitor exits, so that a crash is reported, not hidden.
cat >"$tmp/tmux.conf" <<'EOF'
set -g status off
set -g remain-on-exit on
set -g default-terminal xterm-256color
EOF

capture() { tm capture-pane -p -t "$session" "$@"; }
pane_dead() { [ "$(tm display-message -p -t "$session" '#{pane_dead}')" = 1 ]; }
fail_with_screen() {
    echo "screenshot.sh: $1; the screen was:" >&2
    capture 2>/dev/null | awk 'NF { print; b = 0; next } !b++' >&2 || true
    exit 1
}

# Polls until the screen (plain text) satisfies the shell function "$1", every 0.25 s, for
# at most "$2" seconds.
wait_until() {
    local cond=$1 limit=$2 deadline
    deadline=$(( $(date +%s) + limit ))
    while :; do
        pane_dead && fail_with_screen "wamp-monitor exited"
        capture >"$tmp/screen.txt"
        "$cond" "$tmp/screen.txt" && return 0
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.25
    done
}

# Data on screen: the header says connected, and a table row starts with a session id.
has_data() {
    [[ $(head -n 1 "$1") == *"● connected"* ]] && grep -Eq '^│ *[0-9]{4,} ' "$1"
}
shows_text() { grep -qF -- "$wait_for" "$1"; }
changed() { ! cmp -s "$1" "$tmp/before.txt"; }

tm new-session -d -x "$COLS" -y "$ROWS" -s "$session" \
    "exec env TERM=xterm-256color COLORTERM=truecolor NO_COLOR= '$monitor' --demo"
pane_pid=$(tm display-message -p -t "$session" '#{pane_pid}')
socket=$(tm display-message -p -t "$session" '#{socket_path}')
size=$(tm display-message -p -t "$session" '#{pane_width}x#{pane_height}')
[ "$size" = "${COLS}x${ROWS}" ] || die "the tmux pane is $size, not ${COLS}x${ROWS}"

echo "screenshot.sh: waiting for the dashboard to show data (at most ${timeout}s)" >&2
wait_until has_data "$timeout" || fail_with_screen "no data after ${timeout}s"

echo "screenshot.sh: letting the demo run ${settle}s so the sparklines fill" >&2
sleep "$settle" & wait $!  # (in the background, so that a signal ends the wait at once)
pane_dead && fail_with_screen "wamp-monitor exited"

if [ -n "$keys" ]; then
    capture >"$tmp/before.txt"
    # shellcheck disable=SC2086 # one tmux key name per word
    tm send-keys -t "$session" $keys
    if [ -n "$wait_for" ]; then
        wait_until shows_text 10 || fail_with_screen "\"$wait_for\" not on screen after the keys ($keys)"
    else
        wait_until changed 10 || fail_with_screen "the screen did not change after the keys ($keys)"
    fi
fi

# One capture with the colours; the text file is the same capture without them, so that the
# PNG and the text show the same moment.
tm capture-pane -e -p -N -t "$session" >"$tmp/screen.ansi"
sed -e 's/\x1b\[[0-9;:]*m//g' -e 's/[[:space:]]*$//' "$tmp/screen.ansi" >"$tmp/screenshot.txt"

page=(python3 "$here/ansi_to_html.py" --cols "$COLS" --rows "$ROWS" --cell-width "$cell_width")
"${page[@]}" --title "wamp-monitor --demo" <"$tmp/screen.ansi" >"$tmp/screen.html"

# Chromium's profile, cache and crash dumps go into the temporary directory too.
chrome() {
    HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" \
        "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$tmp/chrome" --no-first-run --disable-breakpad \
        --disable-crash-reporter --force-device-scale-factor=1 "$@" 2>>"$tmp/chromium.log"
}
mkdir -p "$tmp/home"
dims=$(chrome --virtual-time-budget=5000 --dump-dom "file://$tmp/screen.html" \
    | grep -o 'data-size="[0-9]*x[0-9]*"' | grep -o '[0-9]*x[0-9]*' || true)
if [ -z "$dims" ]; then
    # The measurement did not come back: the size the page is meant to have.
    dims=$("${page[@]}" --size)
    echo "screenshot.sh: warning: Chromium did not report the page size; using $dims" >&2
fi
w=${dims%x*}
h=${dims#*x}
chrome --window-size="$w,$h" --screenshot="$tmp/screenshot.png" "file://$tmp/screen.html" >/dev/null \
    || { cat "$tmp/chromium.log" >&2; die "Chromium failed"; }
[ -s "$tmp/screenshot.png" ] || { cat "$tmp/chromium.log" >&2; die "Chromium wrote no PNG"; }
png=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); print('%dx%d' % struct.unpack('>II', d[16:24]))" "$tmp/screenshot.png")
[ "$png" = "${w}x${h}" ] || echo "screenshot.sh: warning: the PNG is $png, not ${w}x${h}" >&2

# Chromium's PNG is RGB, >500 KB; as 256 colours it is a third of that.
if [ "$lossless" = 1 ]; then
    cp "$tmp/screenshot.png" "$out/screenshot.png"
else
    python3 "$here/png_shrink.py" "$tmp/screenshot.png" "$out/screenshot.png"
fi
cp "$tmp/screenshot.txt" "$out/screenshot.txt"
[ -z "$html_copy" ] || cp "$tmp/screen.html" "$html_copy"
echo "screenshot.sh: wrote $out/screenshot.png ($png, $(( $(stat -c %s "$out/screenshot.png") / 1024 )) KB) and $out/screenshot.txt" >&2
