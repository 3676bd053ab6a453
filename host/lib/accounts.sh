#!/bin/bash
# lkp accounts: makes this host's unix accounts match the CA's answer to an Accounts request
# (docs/architecture.md, "Unix accounts"). lkp-host-agent sources it and calls accounts_apply; it
# also runs alone:
#
#   accounts.sh apply ANSWER_FILE    create, unlock, lock and delete accounts as the answer says
#   accounts.sh status               what lkp created here, and the ids it has handed out
#
# Rules (docs/security.md, threat model):
# - lkp changes only users and groups it created (recorded in /var/lib/lkp/accounts.state).
# - Removal takes access away first: the account is locked and expired, its lkp groups and its
#   sudo rule go, and only then (LKP_REMOVED_ACCOUNTS=delete) is it deleted. A delete that cannot
#   happen (the user still has processes) leaves it locked and is retried on the next run.
# - Every uid and gid lkp hands out comes from one counter that only goes up: a removed person's
#   uid is never anyone's again. A deleted account's home is moved to <home parent>/.lkp-removed/
#   <name>.<uid> and given to root, so no later account can own or reach those files.
# For tests, LKP_HOST_ROOT prefixes every path (shadow-utils get --prefix).
set -euo pipefail
umask 077
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

# POSIX user and group names as the CA writes them (src/request.ts SSH_USERNAME).
readonly ACC_RE_NAME='^[A-Za-z_][A-Za-z0-9._-]{0,31}$'
readonly ACC_STATE_HEADER='# lkp accounts state v1: ids handed out and what lkp created; do not edit.'
readonly ACC_SUDOERS_HEADER='# Written by lkp-host-agent from the CA'"'"'s Accounts answer; changes are overwritten.'

ACC_ROOT=${LKP_HOST_ROOT:-}
ACC_ROOT=${ACC_ROOT%/}
if [[ -n $ACC_ROOT && ! $ACC_ROOT =~ ^/[A-Za-z0-9._/-]+$ ]]; then
  echo "lkp accounts: LKP_HOST_ROOT must be an absolute path without spaces" >&2
  exit 2
fi
ACC_STATE=$ACC_ROOT/var/lib/lkp/accounts.state
ACC_OLD_RECORD=$ACC_ROOT/var/lib/lkp/users.json
ACC_SUDOERS=$ACC_ROOT/etc/sudoers.d/lkp-users
ACC_PREFIX=()
if [[ -n $ACC_ROOT ]]; then ACC_PREFIX=(--prefix "$ACC_ROOT"); fi

accounts_log() { printf '%s\n' "$*"; }
ACC_FAILED=0
accounts_fail() {
  accounts_log "failed: $*"
  ACC_FAILED=1
}

# --- the answer: flat lists of names, parsed strictly ------------------------------------------
# The CA writes compact JSON in a fixed key order with names that need no escaping, so the answer
# is read list by list and then compared with its own rendering: anything else is refused.
A_USERS=() A_SUDO=() A_GROUPS=() A_MEMBERS=() A_REMOVED=''

accounts_json_list() {
  local IFS=,
  [[ $# -eq 0 ]] && return 0
  local items=("${@/#/\"}")
  items=("${items[@]/%/\"}")
  printf '%s' "${items[*]}"
}

# accounts_split BODY PATTERN: the quoted items of a list body, one per line; fails on any other shape.
accounts_split() {
  local body=$1 pattern=$2 item
  [[ -z $body ]] && return 0
  local taken separator
  while [[ $body =~ ^\"([^\"\\]*)\"(,|$) ]]; do
    item=${BASH_REMATCH[1]} taken=${#BASH_REMATCH[0]} separator=${BASH_REMATCH[2]}
    [[ $item =~ $pattern ]] || return 1
    printf '%s\n' "$item"
    body=${body:taken}
    if [[ -z $body && $separator == , ]]; then return 1; fi
  done
  [[ -z $body ]]
}

accounts_parse() {
  local json=$1 shape
  json=${json%$'\n'}
  shape='^\{"Kind":"Accounts","Users":\[([^]]*)\],"Sudo":\[([^]]*)\],"Groups":\[([^]]*)\],"Members":\[([^]]*)\],"Removed":"(lock|delete)"\}$'
  [[ $json =~ $shape ]] || return 1
  local users=${BASH_REMATCH[1]} sudo=${BASH_REMATCH[2]} groups=${BASH_REMATCH[3]} members=${BASH_REMATCH[4]}
  A_REMOVED=${BASH_REMATCH[5]}
  local list
  list=$(accounts_split "$users" "$ACC_RE_NAME") || return 1
  mapfile -t A_USERS < <([[ -n $list ]] && printf '%s\n' "$list")
  list=$(accounts_split "$sudo" "$ACC_RE_NAME") || return 1
  mapfile -t A_SUDO < <([[ -n $list ]] && printf '%s\n' "$list")
  list=$(accounts_split "$groups" "$ACC_RE_NAME") || return 1
  mapfile -t A_GROUPS < <([[ -n $list ]] && printf '%s\n' "$list")
  list=$(accounts_split "$members" '^[A-Za-z_][A-Za-z0-9._-]{0,31}:[A-Za-z_][A-Za-z0-9._-]{0,31}$') || return 1
  mapfile -t A_MEMBERS < <([[ -n $list ]] && printf '%s\n' "$list")
  # The same text back, or it was not the CA's answer.
  local again
  again=$(printf '{"Kind":"Accounts","Users":[%s],"Sudo":[%s],"Groups":[%s],"Members":[%s],"Removed":"%s"}' \
    "$(accounts_json_list "${A_USERS[@]}")" "$(accounts_json_list "${A_SUDO[@]}")" \
    "$(accounts_json_list "${A_GROUPS[@]}")" "$(accounts_json_list "${A_MEMBERS[@]}")" "$A_REMOVED")
  [[ $again == "$json" ]] || return 1
  # Sudo and members name only the answer's own users and groups.
  local name member
  for name in "${A_SUDO[@]}"; do accounts_in "$name" "${A_USERS[@]}" || return 1; done
  for member in "${A_MEMBERS[@]}"; do
    accounts_in "${member%%:*}" "${A_GROUPS[@]}" || return 1
    accounts_in "${member#*:}" "${A_USERS[@]}" || return 1
  done
}

# accounts_in NAME LIST...: NAME is one of LIST.
accounts_in() {
  local name=$1 item
  shift
  for item in "$@"; do [[ $item == "$name" ]] && return 0; done
  return 1
}

# --- the host's accounts (passwd, group, shadow under the root) --------------------------------
declare -A P_UID=() P_HOME=() G_GID=() G_MEMBERS=() S_LOCKED=()

accounts_read_host() {
  P_UID=() P_HOME=() G_GID=() G_MEMBERS=() S_LOCKED=()
  local name uid gid home password members today expire
  while IFS=: read -r name _ uid _ _ home _; do
    [[ -n $name && $name != \#* ]] || continue
    P_UID[$name]=$uid
    P_HOME[$name]=$home
  done <"$ACC_ROOT/etc/passwd"
  while IFS=: read -r name _ gid members; do
    [[ -n $name && $name != \#* ]] || continue
    G_GID[$name]=$gid
    G_MEMBERS[$name]=",$members,"
  done <"$ACC_ROOT/etc/group"
  today=$(($(date +%s) / 86400))
  while IFS=: read -r name password _ _ _ _ _ expire _; do
    [[ -n $name && $name != \#* ]] || continue
    # Locked password or an expired account: sshd refuses it with and without PAM.
    if [[ $password == '!'* || ($expire =~ ^[0-9]+$ && $expire -le $today) ]]; then S_LOCKED[$name]=1; fi
  done <"$ACC_ROOT/etc/shadow"
}

# accounts_groups_of USER: the groups USER is a supplementary member of, one per line.
accounts_groups_of() {
  local group
  for group in "${!G_MEMBERS[@]}"; do
    if [[ ${G_MEMBERS[$group]} == *",$1,"* ]]; then printf '%s\n' "$group"; fi
  done | sort
}

# --- state: the id counter and what lkp created -----------------------------------------------
NEXT_ID=0
declare -A OWN_USERS=() OWN_GROUPS=()

accounts_load_state() {
  NEXT_ID=0 OWN_USERS=() OWN_GROUPS=()
  if [[ ! -f $ACC_STATE ]]; then
    accounts_import_old_record
    return 0
  fi
  local kind name id line=0
  while read -r kind name id; do
    line=$((line + 1))
    case $kind in
      '#'* | '') ;;
      next-id)
        [[ $name =~ ^[0-9]{1,10}$ ]] || accounts_corrupt "$line"
        NEXT_ID=$name
        ;;
      user | group)
        [[ $name =~ $ACC_RE_NAME && $id =~ ^[0-9]{1,10}$ ]] || accounts_corrupt "$line"
        if [[ $kind == user ]]; then OWN_USERS[$name]=$id; else OWN_GROUPS[$name]=$id; fi
        ;;
      *) accounts_corrupt "$line" ;;
    esac
  done <"$ACC_STATE"
}

accounts_corrupt() {
  echo "lkp accounts: $ACC_STATE line $1 is not lkp's; fix or remove the file (nothing was changed)" >&2
  exit 1
}

# `lkp host sync-users` (before the host agent) kept what it created in users.json, written by
# JSON.stringify with two-space indents: its user keys and group items are taken over, and the
# counter starts above the highest of their ids, so the accounts it made stay managed.
accounts_import_old_record() {
  [[ -f $ACC_OLD_RECORD ]] || return 0
  local line section='' name
  while IFS= read -r line; do
    case $line in
      '  "users": {') section=users ;;
      '  "groups": [') section=groups ;;
      '  }'* | '  ]'*) section='' ;;
      *)
        if [[ $section == users && $line =~ ^\ \ \ \ \"([^\"]+)\":\ \{ ]]; then
          name=${BASH_REMATCH[1]}
          [[ $name =~ $ACC_RE_NAME && -n ${P_UID[$name]:-} ]] && OWN_USERS[$name]=${P_UID[$name]}
        elif [[ $section == groups && $line =~ ^\ \ \ \ \"([^\"]+)\",?$ ]]; then
          name=${BASH_REMATCH[1]}
          [[ $name =~ $ACC_RE_NAME && -n ${G_GID[$name]:-} ]] && OWN_GROUPS[$name]=${G_GID[$name]}
        fi
        ;;
    esac
  done <"$ACC_OLD_RECORD"
  local id
  for id in "${OWN_USERS[@]}" "${OWN_GROUPS[@]}"; do
    if ((id + 1 > NEXT_ID)); then NEXT_ID=$((id + 1)); fi
  done
  accounts_log "took over ${#OWN_USERS[@]} accounts and ${#OWN_GROUPS[@]} groups from $ACC_OLD_RECORD"
}

# Written after every change (temp file + rename), so a crash never forgets an id handed out.
accounts_save_state() {
  local name tmp=$ACC_STATE.lkp-tmp
  install -d -m 0755 -- "${ACC_STATE%/*}"
  {
    printf '%s\n' "$ACC_STATE_HEADER"
    printf 'next-id %s\n' "$NEXT_ID"
    for name in "${!OWN_USERS[@]}"; do printf 'user %s %s\n' "$name" "${OWN_USERS[$name]}"; done | sort
    for name in "${!OWN_GROUPS[@]}"; do printf 'group %s %s\n' "$name" "${OWN_GROUPS[$name]}"; done | sort
  } >"$tmp"
  chmod 0600 -- "$tmp"
  mv -f -- "$tmp" "$ACC_STATE"
}

# ACC_ID becomes the next id for a user (uid = gid of its own group) or a group: above every id
# lkp ever handed out and above UID_MIN, free as a uid and as a gid. Saved before it is used.
ACC_ID=''
accounts_allocate_id() {
  local min max id
  min=$(accounts_login_defs UID_MIN 1000)
  max=$(accounts_login_defs UID_MAX 60000)
  id=$NEXT_ID
  ((id >= min)) || id=$min
  while accounts_id_taken "$id"; do id=$((id + 1)); done
  ((id <= max)) || return 1
  NEXT_ID=$((id + 1))
  accounts_save_state
  ACC_ID=$id
}

accounts_id_taken() {
  local name
  for name in "${!P_UID[@]}"; do [[ ${P_UID[$name]} == "$1" ]] && return 0; done
  for name in "${!G_GID[@]}"; do [[ ${G_GID[$name]} == "$1" ]] && return 0; done
  return 1
}

accounts_login_defs() {
  local key value
  if [[ -f $ACC_ROOT/etc/login.defs ]]; then
    while read -r key value _; do
      if [[ $key == "$1" && $value =~ ^[0-9]+$ ]]; then
        printf '%s' "$value"
        return 0
      fi
    done <"$ACC_ROOT/etc/login.defs"
  fi
  printf '%s' "$2"
}

# --- sudo: one rule per uid, checked with visudo before it replaces the old file --------------
accounts_render_sudoers() {
  local name
  printf '%s\n' "$ACC_SUDOERS_HEADER"
  for name in "${A_SUDO[@]}"; do
    # Only accounts lkp owns and that can log in; rules by uid, so a user named ALL stays a user.
    if [[ -n ${OWN_USERS[$name]:-} && -n ${P_UID[$name]:-} && -z ${S_LOCKED[$name]:-} ]]; then
      printf '# %s\n#%s ALL=(ALL) NOPASSWD: ALL\n' "$name" "${P_UID[$name]}"
    fi
  done
}

# accounts_write_sudoers [existing]: with `existing`, only a file that is there is rewritten (the
# first pass only takes rules away).
accounts_write_sudoers() {
  local content tmp=$ACC_SUDOERS.lkp-tmp
  if [[ ${1:-} == existing && ! -f $ACC_SUDOERS ]]; then return 0; fi
  content=$(accounts_render_sudoers)$'\n'
  if [[ ${#A_SUDO[@]} -eq 0 ]]; then
    if [[ -f $ACC_SUDOERS ]]; then
      rm -f -- "$ACC_SUDOERS"
      accounts_log "removed $ACC_SUDOERS"
    fi
    return 0
  fi
  if [[ -f $ACC_SUDOERS && "$(cat -- "$ACC_SUDOERS"; printf x)" == "${content}x" ]]; then return 0; fi
  install -d -m 0750 -- "${ACC_SUDOERS%/*}"
  # The dot keeps sudo from reading the staged file.
  printf '%s' "$content" >"$tmp"
  chmod 0440 -- "$tmp"
  if ! visudo -cqf "$tmp" >/dev/null 2>&1; then
    rm -f -- "$tmp"
    accounts_fail "visudo rejected the new $ACC_SUDOERS; the old one stays"
    return 0
  fi
  mv -f -- "$tmp" "$ACC_SUDOERS"
  accounts_log "wrote $ACC_SUDOERS"
}

# --- shadow-utils ------------------------------------------------------------------------------
accounts_run() {
  local out
  if ! out=$("$@" 2>&1); then
    accounts_fail "$* : ${out//$'\n'/ }"
    return 1
  fi
}

# accounts_set_groups USER WANTED...: the user's supplementary groups become the ones lkp does not
# manage plus WANTED (managed ones only).
accounts_set_groups() {
  local user=$1 group now next=()
  shift
  now=$(accounts_groups_of "$user" | paste -sd, -)
  for group in $(accounts_groups_of "$user"); do
    [[ -n ${OWN_GROUPS[$group]:-} ]] || next+=("$group")
  done
  for group in "$@"; do
    [[ -n ${OWN_GROUPS[$group]:-} ]] && next+=("$group")
  done
  local wanted
  wanted=$(if [[ ${#next[@]} -gt 0 ]]; then printf '%s\n' "${next[@]}"; fi | sort -u | paste -sd, -)
  [[ $now == "$wanted" ]] && return 0
  accounts_run usermod "${ACC_PREFIX[@]}" -G "$wanted" "$user" &&
    accounts_log "set groups of $user to ${wanted:-(none)}"
}

# accounts_take_away USER: locked and expired, out of every lkp group. Sudo goes with the next
# sudoers file, which is written before any delete.
accounts_take_away() {
  local user=$1
  if [[ -z ${S_LOCKED[$user]:-} ]]; then
    accounts_run usermod "${ACC_PREFIX[@]}" --lock --expiredate 1 "$user" || return 1
    S_LOCKED[$user]=1
    accounts_log "locked user $user (left the IAM groups)"
  fi
  accounts_set_groups "$user"
}

# accounts_busy UID: a process runs with that uid (real or effective). userdel refuses such a
# user on a live system; checked here too, so the outcome is the same under a test root.
accounts_busy() {
  pgrep -U "$1" >/dev/null 2>&1 || pgrep -u "$1" >/dev/null 2>&1
}

# accounts_delete USER: the locked account goes; its home is moved aside and given to root.
accounts_delete() {
  local user=$1 uid=${P_UID[$1]} home=${P_HOME[$1]:-}
  if accounts_busy "$uid"; then
    accounts_log "locked, delete pending: $user still has processes; retried on the next run"
    ACC_FAILED=1
    return 0
  fi
  local out
  if ! out=$(userdel "${ACC_PREFIX[@]}" "$user" 2>&1); then
    accounts_log "locked, delete pending: $user (userdel: ${out//$'\n'/ }); retried on the next run"
    ACC_FAILED=1
    return 0
  fi
  unset "OWN_USERS[$user]"
  accounts_save_state
  accounts_log "deleted user $user (left the IAM groups)"
  accounts_retire_home "$user" "$uid" "$home"
}

# The files stay (the record of who did what) where no later account can own or reach them.
accounts_retire_home() {
  local user=$1 uid=$2 home=$3 dir parent target
  [[ $home =~ ^/[A-Za-z0-9._/-]+$ && $home != */. && $home != */.. && $home != *'/../'* ]] || return 0
  dir=$ACC_ROOT$home
  [[ -d $dir && ! -L $dir && $(stat -c %u -- "$dir") == "$uid" ]] || return 0
  parent=${dir%/*}
  target=$parent/.lkp-removed/$user.$uid
  install -d -m 0700 -o 0 -g 0 -- "$parent/.lkp-removed"
  if [[ -e $target ]]; then target=$target.$(date +%s); fi
  mv -- "$dir" "$target"
  chown -R --no-dereference 0:0 -- "$target"
  chmod 0700 -- "$target"
  accounts_log "moved the home of $user to ${target#"$ACC_ROOT"} (owned by root)"
}

# --- apply -------------------------------------------------------------------------------------
# accounts_apply ANSWER_FILE: exit status 0 when the host matches the answer, 1 when something is
# left to do (a failed command, a delete pending); the report goes to stdout, one line each.
accounts_apply() {
  local file=${1:-}
  [[ -n $file && -f $file ]] || {
    echo "lkp accounts: usage: accounts apply ANSWER_FILE" >&2
    return 2
  }
  [[ $(id -u) == 0 ]] || {
    echo "lkp accounts: run as root" >&2
    return 2
  }
  local json
  json=$(cat -- "$file")
  if ! accounts_parse "$json"; then
    echo "lkp accounts: $file is not an Accounts answer of the CA (nothing was changed)" >&2
    return 1
  fi
  ACC_FAILED=0
  accounts_read_host
  accounts_load_state
  local user group
  # Entries whose account someone else removed are forgotten (their ids stay handed out).
  for user in "${!OWN_USERS[@]}"; do [[ -n ${P_UID[$user]:-} ]] || unset "OWN_USERS[$user]"; done
  for group in "${!OWN_GROUPS[@]}"; do [[ -n ${G_GID[$group]:-} ]] || unset "OWN_GROUPS[$group]"; done
  accounts_save_state

  # 1. Access goes away first: lock and un-group everyone who left, then rewrite sudo.
  local removed=()
  for user in $(printf '%s\n' "${!OWN_USERS[@]}" | sort); do
    accounts_in "$user" "${A_USERS[@]}" || removed+=("$user")
  done
  for user in "${removed[@]}"; do accounts_take_away "$user" || true; done
  accounts_read_host
  accounts_write_sudoers existing
  # 2. Then deletes, if the CA says so; only accounts that are locked by now.
  if [[ $A_REMOVED == delete ]]; then
    for user in "${removed[@]}"; do
      if [[ -n ${S_LOCKED[$user]:-} ]]; then accounts_delete "$user"; fi
    done
  fi

  # 3. Groups, then accounts, with ids from the counter.
  local id
  for group in "${A_GROUPS[@]}"; do
    if [[ -n ${G_GID[$group]:-} ]]; then
      [[ -n ${OWN_GROUPS[$group]:-} ]] ||
        accounts_log "warning: group $group exists but was not created by lkp; leaving it and its members alone"
      continue
    fi
    accounts_allocate_id || {
      accounts_fail "no free id for group $group below UID_MAX"
      continue
    }
    id=$ACC_ID
    if accounts_run groupadd "${ACC_PREFIX[@]}" --gid "$id" "$group"; then
      OWN_GROUPS[$group]=$id
      G_GID[$group]=$id
      accounts_save_state
      accounts_log "created group $group"
    fi
  done
  local wanted shell=/bin/bash
  for user in "${A_USERS[@]}"; do
    if [[ -n ${P_UID[$user]:-} && -z ${OWN_USERS[$user]:-} ]]; then
      accounts_log "warning: user $user exists but was not created by lkp; leaving it alone"
      continue
    fi
    if [[ -z ${P_UID[$user]:-} ]]; then
      accounts_allocate_id || {
        accounts_fail "no free id for user $user below UID_MAX"
        continue
      }
      id=$ACC_ID
      # Password `*`: no password login, yet not locked (`!`), which sshd without PAM refuses.
      accounts_run useradd "${ACC_PREFIX[@]}" --uid "$id" --user-group --create-home --shell "$shell" \
        --comment lkp --password '*' "$user" || continue
      OWN_USERS[$user]=$id
      P_UID[$user]=$id
      G_GID[$user]=$id
      accounts_save_state
      accounts_log "created user $user (uid $id)"
    elif [[ -n ${S_LOCKED[$user]:-} ]]; then
      accounts_run usermod "${ACC_PREFIX[@]}" --unlock --expiredate '' "$user" || continue
      unset "S_LOCKED[$user]"
      accounts_log "unlocked user $user"
    fi
    wanted=()
    for group in "${A_MEMBERS[@]}"; do
      if [[ ${group#*:} == "$user" ]]; then wanted+=("${group%%:*}"); fi
    done
    accounts_set_groups "$user" "${wanted[@]}" || true
  done
  for group in $(printf '%s\n' "${!OWN_GROUPS[@]}" | sort); do
    accounts_in "$group" "${A_GROUPS[@]}" && continue
    if accounts_run groupdel "${ACC_PREFIX[@]}" "$group"; then
      unset "OWN_GROUPS[$group]"
      accounts_save_state
      accounts_log "deleted group $group"
    fi
  done

  # 4. sudo for what exists now.
  accounts_read_host
  accounts_write_sudoers
  accounts_save_state
  return "$ACC_FAILED"
}

accounts_status() {
  accounts_read_host
  accounts_load_state
  printf 'next id: %s\n' "$NEXT_ID"
  local user
  for user in $(printf '%s\n' "${!OWN_USERS[@]}" | sort); do
    if [[ -n ${S_LOCKED[$user]:-} ]]; then
      printf 'user %s uid %s locked\n' "$user" "${OWN_USERS[$user]}"
    else
      printf 'user %s uid %s\n' "$user" "${OWN_USERS[$user]}"
    fi
  done
  for user in $(printf '%s\n' "${!OWN_GROUPS[@]}" | sort); do printf 'group %s gid %s\n' "$user" "${OWN_GROUPS[$user]}"; done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    apply) accounts_apply "${2:-}" ;;
    status) accounts_status ;;
    *)
      sed -n '2,9p' "${BASH_SOURCE[0]}" >&2
      exit 2
      ;;
  esac
fi
