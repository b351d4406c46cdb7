# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this
# Shared by scripts/cassandra-*: paths, the pinned version, node bookkeeping and
# the CQL readiness probe. Sourced, not run.

# The newest 5.0.x that resolved on Maven Central when this was written; the one
# place the version is pinned. Override with CASSANDRA_VERSION=5.0.x.
DEFAULT_CASSANDRA_VERSION=5.0.9
CASSANDRA_VERSION=${CASSANDRA_VERSION:-$DEFAULT_CASSANDRA_VERSION}

# The repository root is found from the scripts' own location, so every script
# behaves the same whatever the caller's working directory is.
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
CASSANDRA_LIB_DIR="$REPO_ROOT/.cassandra/lib/$CASSANDRA_VERSION"
DEFAULT_RUN_DIR="$REPO_ROOT/.cassandra/run"

# Every node listens on its own loopback address with the same ports: Linux
# routes all of 127.0.0.0/8 to lo without aliases, and the scylla driver builds
# peer addresses from system.peers with the control connection's port, so all
# nodes must share the CQL port.
CQL_PORT=9042
STORAGE_PORT=7000
MAX_NODES=9

die() { echo "${PROG:-cassandra}: $*" >&2; exit 1; }

# Make a --dir argument absolute (and create it), so the paths written into the
# yaml, the pid files and the process tag are stable.
abs_dir() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# Node K listens on 127.0.0.(K + CASSANDRA_IP_OFFSET): a second cluster (a benchmark's,
# a reliability test's) can run beside the test cluster with its own --dir and an offset.
# The offset must be the same for start, stop and status of one cluster.
node_ip()  { echo "127.0.0.$(( $1 + ${CASSANDRA_IP_OFFSET:-0} ))"; }
node_dir() { echo "$RUN_DIR/node$1"; }
node_log() { echo "$RUN_DIR/node$1/logs/system.log"; }
node_pid_file() { echo "$RUN_DIR/node$1/cassandra.pid"; }

# Each node's java command line carries -Dtaskrec.node_dir=<node dir>: a tag
# that lets the scripts check a pid really is that node (pids get reused) and
# find a node whose pid file was lost, without matching processes by name.
node_tag() { echo "-Dtaskrec.node_dir=$(node_dir "$1")"; }

pid_is_node() { # pid_is_node PID K
    [[ -n "$1" && -r "/proc/$1/cmdline" ]] && grep -qzxF -- "$(node_tag "$2")" "/proc/$1/cmdline" 2>/dev/null
}

# pid_gone PID: true once the process has fully exited. Its command line reads
# empty a moment before its sockets are closed (the kernel frees memory before
# files), so "tag no longer matches" is too early to call a node stopped.
pid_gone() {
    local state
    [[ -r "/proc/$1/stat" ]] || return 0
    state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z "$state" || "$state" == Z || "$state" == X ]]
}

# Prints the pid of node K if it is running (from its pid file, or failing that
# from the process tag), nothing otherwise.
node_pid() {
    local k=$1 pid="" f
    f=$(node_pid_file "$k")
    [[ -f "$f" ]] && pid=$(<"$f")
    if pid_is_node "$pid" "$k"; then echo "$pid"; return 0; fi
    # The tag goes in through -f, not argv: grep would otherwise find itself.
    f=$(grep -lzxF -f <(printf '%s\n' "$(node_tag "$k")") /proc/[0-9]*/cmdline 2>/dev/null | head -n 1 || true)
    if [[ -n "$f" ]]; then pid=${f#/proc/}; echo "${pid%/cmdline}"; fi
}

# cluster.env in the run dir records the node count the data was created with
# (tokens and seeds depend on it), so --node K and stop/status know it.
load_cluster_env() {
    NODES=""
    [[ -f "$RUN_DIR/cluster.env" ]] || return 1
    # shellcheck disable=SC1091
    source "$RUN_DIR/cluster.env"
    [[ "$NODES" =~ ^[1-9]$ ]] || die "$RUN_DIR/cluster.env is damaged (NODES='$NODES')"
}

# --- CQL readiness probe ----------------------------------------------------
# Speaks the CQL native protocol (v4, the version the scylla driver uses) over
# bash's /dev/tcp, so no driver or python is needed:
#   OPTIONS -> SUPPORTED; STARTUP -> READY, or AUTHENTICATE when password auth is
#   on, then AUTH_RESPONSE (SASL PLAIN, $CASSANDRA_USER/$CASSANDRA_PASSWORD,
#   default cassandra/cassandra) -> AUTH_SUCCESS; then
#   QUERY "SELECT release_version FROM system.local" -> RESULT.
# A frame header is 9 bytes: version, flags, stream (2), opcode, body length (4).
# Prints what it learnt (e.g. "release_version=5.0.9"). Returns 0 if the node
# served the query, 2 if it answered CQL but refused the login (with auth on,
# the default superuser appears only shortly after startup), 1 otherwise.

_cql_esc() { # _cql_esc STRING: the string as \xHH escapes for printf (safe for any byte)
    printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | sed 's/../\\x&/g'
}
_cql_int() { # _cql_int N: a 4-byte big-endian int as \xHH escapes
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}
_cql_short() { # _cql_short N: a 2-byte big-endian int as \xHH escapes
    printf '\\x%02x\\x%02x' $(($1 >> 8 & 255)) $(($1 & 255))
}

_cql_frame() { # _cql_frame OPCODE_HEX BODY_ESCAPED BODY_LEN: writes one v4 request frame to fd 3
    # shellcheck disable=SC2059 # the format carries the \xHH escapes on purpose
    printf "\\x04\\x00\\x00\\x01\\x$1$(_cql_int "$3")$2" >&3
}

_cql_read() { # reads one response frame from fd 3; sets OPCODE (hex) and BODY (printable runs, one a line)
    local hdr len
    # GNU head -c never reads past the count, so the next frame stays in the socket.
    hdr=$(head -c 9 <&3 | od -An -v -tx1 | tr -d ' \n')
    [[ ${#hdr} -eq 18 && ${hdr:0:2} == 84 ]] || return 1
    OPCODE=${hdr:8:2}
    len=$((16#${hdr:10:8}))
    BODY=$(head -c "$len" <&3 | tr -c '[:print:]' '\n')
}

_cql_probe_inner() { # runs in its own bash under `timeout`
    local host=$1 port=$2 user=${CASSANDRA_USER:-cassandra} pass=${CASSANDRA_PASSWORD:-cassandra} q token note=""
    exec 3<>"/dev/tcp/$host/$port" || return 1
    _cql_frame 05 "" 0                                  # OPTIONS
    _cql_read && [[ $OPCODE == 06 ]] || return 1        # SUPPORTED
    # STARTUP body: string map {CQL_VERSION: 3.0.0} = n(2) key(2+11) value(2+5)
    _cql_frame 01 "$(_cql_short 1)$(_cql_short 11)$(_cql_esc CQL_VERSION)$(_cql_short 5)$(_cql_esc 3.0.0)" 22
    _cql_read || return 1
    case $OPCODE in
        02) ;;                                          # READY
        03)                                             # AUTHENTICATE
            # AUTH_RESPONSE body: [bytes] SASL PLAIN token "\0user\0password"
            token="\\x00$(_cql_esc "$user")\\x00$(_cql_esc "$pass")"
            q=$(( 2 + $(printf '%s' "$user" | wc -c) + $(printf '%s' "$pass" | wc -c) ))
            _cql_frame 0f "$(_cql_int "$q")$token" $(( 4 + q ))
            _cql_read || return 1
            if [[ $OPCODE != 10 ]]; then                # not AUTH_SUCCESS
                echo "password auth on; login as $user refused"
                return 2
            fi
            note=", logged in as $user" ;;
        *) return 1 ;;
    esac
    q="SELECT release_version FROM system.local"
    # QUERY body: long string (4-byte length + text), consistency ONE (0x0001), flags 0
    _cql_frame 07 "$(_cql_int ${#q})$(_cql_esc "$q")$(_cql_short 1)\\x00" $(( 4 + ${#q} + 3 ))
    _cql_read && [[ $OPCODE == 08 ]] || return 1        # RESULT
    echo "release_version=$(grep -E '^[0-9]+\.[0-9]+' <<<"$BODY" | tail -n 1)$note"
}

cql_probe() { # cql_probe HOST [PORT] [TIMEOUT_S]
    local host=$1 port=${2:-$CQL_PORT} t=${3:-5}
    timeout "$t" bash -c "$(declare -f _cql_esc _cql_int _cql_short _cql_frame _cql_read _cql_probe_inner); _cql_probe_inner \"\$1\" \"\$2\"" _ "$host" "$port" 2>/dev/null
}

# node_probe K [TIMEOUT_S]: cql_probe for node K. A node started with client TLS
# required (cassandra-start leaves conf/tls-required then) refuses plain frames,
# so for it the probe only checks that the port accepts connections; probing
# over TLS comes with the certificate task.
node_probe() {
    local k=$1 t=${2:-5}
    if [[ -f "$(node_dir "$k")/conf/tls-required" ]]; then
        # shellcheck disable=SC2016 # expanded by the inner bash
        timeout "$t" bash -c ': <>"/dev/tcp/$1/$2"' _ "$(node_ip "$k")" "$CQL_PORT" 2>/dev/null &&
            echo "port open; TLS required, CQL not probed"
        return
    fi
    cql_probe "$(node_ip "$k")" "$CQL_PORT" "$t"
}
