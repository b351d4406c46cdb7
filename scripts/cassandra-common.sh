# shellcheck shell=bash
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

node_ip()  { echo "127.0.0.$1"; }
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
#   OPTIONS -> SUPPORTED, then STARTUP -> READY (or AUTHENTICATE when password
#   auth is on), then QUERY "SELECT release_version FROM system.local" -> RESULT.
# A frame header is 9 bytes: version, flags, stream (2), opcode, body length (4).
# Prints what it learnt (e.g. "release_version=5.0.9") and returns 0 only if the
# node answered CQL.

_cql_frame() { # _cql_frame OPCODE BODY_ESCAPED BODY_LEN: writes one v4 request frame to fd 3
    local op=$1 body=$2 len=$3
    printf "\\x04\\x00\\x00\\x01\\x$(printf %02x "$op")\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))$body" >&3
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
    local host=$1 port=$2 q startup
    exec 3<>"/dev/tcp/$host/$port" || return 1
    _cql_frame 5 "" 0                                   # OPTIONS
    _cql_read && [[ $OPCODE == 06 ]] || return 1        # SUPPORTED
    # STARTUP body: string map {CQL_VERSION: 3.0.0} = n(2) key(2+11) value(2+5)
    startup='\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0'
    _cql_frame 1 "$startup" 22
    _cql_read || return 1
    case $OPCODE in
        02) ;;                                          # READY
        03) echo "answers CQL (password authentication required)"; return 0 ;;
        *) return 1 ;;
    esac
    q="SELECT release_version FROM system.local"
    # QUERY body: long string (4-byte length + text), consistency ONE (0x0001), flags 0
    _cql_frame 7 "\\x00\\x00\\x00\\x$(printf %02x ${#q})$q\\x00\\x01\\x00" $((4 + ${#q} + 3))
    _cql_read && [[ $OPCODE == 08 ]] || { echo "answers CQL (query failed)"; return 0; }
    echo "release_version=$(grep -E '^[0-9]+\.[0-9]+' <<<"$BODY" | tail -n 1)"
}

cql_probe() { # cql_probe HOST [PORT] [TIMEOUT_S]
    local host=$1 port=${2:-$CQL_PORT} t=${3:-5}
    if [[ -n "${CASSANDRA_TLS_DIR:-}" ]]; then
        # With client TLS on, plain frames are refused (unless optional); the probe
        # only checks the port accepts connections. TLS probing comes with the
        # certificate task.
        timeout "$t" bash -c ': <>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null && echo "port open (TLS: not probed)"
        return
    fi
    timeout "$t" bash -c "$(declare -f _cql_frame _cql_read _cql_probe_inner); _cql_probe_inner \"\$1\" \"\$2\"" _ "$host" "$port" 2>/dev/null
}
