#!/usr/bin/env bash
# longctx chat on a terminal (issue 18 item 5), through a pseudo-terminal
# (Python's pty), on the shipped models/longctx-default.gguf:
#  - built with libedit (CMakeCache: LC_LIBEDIT_FOUND), the up arrow recalls
#    the previous line (/stats runs twice); without it the arrow's escape
#    sequence is taken out of the line and nothing runs;
#  - Ctrl-C at the prompt ends the chat (exit 0);
#  - through a pipe, a line whose control characters or key escape sequences
#    come before the '/' is still a command, never a message.
# Usage (from ctest): chat_tty.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SRC=$3
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for a pseudo-terminal"; exit 77; }
M=$SRC/models/longctx-default.gguf
[ -f "$M" ] || { echo "FAIL: $M is missing from the repository"; exit 1; }
edit=0
grep -q '^LC_LIBEDIT_FOUND:INTERNAL=1' "$(dirname "$CLI")/CMakeCache.txt" 2>/dev/null && edit=1

cat >"$tmp/drive_tty.py" <<'PY'
import os, pty, select, sys, time
cli, model, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cli, [cli, "chat", "-m", model, "-n", "4", "-t", "1", "--temp", "0"])
out = b""
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
pump(2)
for k in keys:
    os.write(fd, k.encode().decode("unicode_escape").encode("latin-1"))
    pump(1.5)
end = time.time() + 10
while time.time() < end:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    pump(0.2)
else:
    os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
print("\nEXIT %d" % (os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)))
PY
# one "/stats" prints "turns 0, ..." and "dropped turns 0": two per run
python3 "$tmp/drive_tty.py" "$CLI" "$M" '/stats\r' '\x1b[A\r' '/quit\r' >"$tmp/tty1" 2>&1
has "$tmp/tty1" "EXIT 0" "a terminal chat ends at /quit"
n=$(grep -o "turns 0" "$tmp/tty1" | wc -l)
if [ "$edit" = 1 ]; then
    check '[ "$n" -eq 4 ]' "libedit: the up arrow recalls /stats (its output $((n / 2)) times, want 2)"
else
    check '[ "$n" -eq 2 ]' "no libedit: the arrow's escape sequence runs nothing (/stats output $((n / 2)) times, want 1)"
fi
python3 "$tmp/drive_tty.py" "$CLI" "$M" '\x03' >"$tmp/tty2" 2>&1
has "$tmp/tty2" "EXIT 0" "Ctrl-C at the prompt ends the chat"

printf '\033[A/stats\n\001/quit\n' >"$tmp/in"
run_in 0 "control characters before a command" "$tmp/in" "$CLI" chat -m "$M" -n 4 -t 1
has "$tmp/out" "turns 0" "an escape sequence before /stats: still the command"
check '[ "$(grep -c "<<<END>>>" "$tmp/out")" -eq 2 ]' "two commands, no message ($(head -c 300 "$tmp/out"))"
finish chat_tty
