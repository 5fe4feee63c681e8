"""procstat.py - CPU and memory of a process tree, from /proc.

tree(root) lists root and every descendant (by PPid). cpu_ticks(root) sums
utime+stime+cutime+cstime over the tree: a child that exits and is reaped
moves its time into its parent's cutime/cstime, so the sum before and after
a run differs exactly by what the tree spent in between, exited children
included (as long as the root itself lives). memory(root) sums Rss and Pss
(kB) from /proc/PID/smaps_rollup over the tree.
"""
import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is state (field 3); ppid field 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _stat(name)
        if st:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(root):
    total = 0
    for pid in tree(root):
        st = _stat(pid)
        if st:
            total += st[1]
    return total / CLK_TCK


def memory_kb(root):
    rss = pss = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss
