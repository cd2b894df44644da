# zram devices the suite makes and removes: only ever those it hot-added itself, recorded in
# $ZRAM_OWNED (one index per line).

zram_available() { [ -w /sys/class/zram-control/hot_add ] || modprobe zram 2>/dev/null; [ -w /sys/class/zram-control/hot_add ]; }

# zram_add: adds a device; prints its index.
zram_add() {
  local n
  n="$(cat /sys/class/zram-control/hot_add)"
  echo "$n" >>"$ZRAM_OWNED"
  echo "$n"
}

# zram_add_advertised: adds a device the suite's config matches (index 10 or more); a lower free
# index (someone else's device went away meanwhile) is kept as one more placeholder.
zram_add_advertised() {
  local n
  while n="$(zram_add)" && [ "$n" -lt 10 ]; do :; done
  echo "$n"
}

# zram_remove N: removes a device the suite added (fails, EBUSY, while something has it open).
zram_remove() {
  grep -qx "$1" "$ZRAM_OWNED" || { echo "zram_remove: zram$1 is not ours" >&2; return 1; }
  echo "$1" >/sys/class/zram-control/hot_remove || return 1
  sed -i "/^$1\$/d" "$ZRAM_OWNED"
}

zram_remove_all_owned() {
  local n
  [ -f "$ZRAM_OWNED" ] || return 0
  for n in $(cat "$ZRAM_OWNED"); do
    echo "$n" >/sys/class/zram-control/hot_remove 2>/dev/null || echo "cluster: cannot remove zram$n" >&2
  done
  rm -f "$ZRAM_OWNED"
}
